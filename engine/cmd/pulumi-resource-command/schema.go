package main

// schemaJSON is a minimal Pulumi package schema for what this provider implements, written for
// winpe-lab (`pulumi package get-schema`, tooling). It lists the properties and types only; the
// documentation lives in the @pulumi/command SDK's .d.ts files.
const schemaJSON = `{
  "name": "command",
  "version": "1.2.1",
  "description": "winpe-lab implementation of the command provider: local.Command and local.run.",
  "config": {},
  "provider": {"type": "object"},
  "types": {
    "command:local:Logging": {
      "type": "string",
      "enum": [
        {"name": "Stdout", "value": "stdout"},
        {"name": "Stderr", "value": "stderr"},
        {"name": "StdoutAndStderr", "value": "stdoutAndStderr"},
        {"name": "None", "value": "none"}
      ]
    }
  },
  "resources": {
    "command:local:Command": {
      "description": "Runs a command on create, update and delete.",
      "inputProperties": {
        "addPreviousOutputInEnv": {"type": "boolean"},
        "archivePaths": {"type": "array", "items": {"type": "string"}},
        "assetPaths": {"type": "array", "items": {"type": "string"}},
        "create": {"type": "string"},
        "delete": {"type": "string"},
        "dir": {"type": "string"},
        "environment": {"type": "object", "additionalProperties": {"type": "string"}},
        "interpreter": {"type": "array", "items": {"type": "string"}},
        "logging": {"$ref": "#/types/command:local:Logging"},
        "stdin": {"type": "string"},
        "triggers": {"type": "array", "items": {"$ref": "pulumi.json#/Any"}, "replaceOnChanges": true},
        "update": {"type": "string"}
      },
      "properties": {
        "addPreviousOutputInEnv": {"type": "boolean"},
        "archive": {"$ref": "pulumi.json#/Archive"},
        "archivePaths": {"type": "array", "items": {"type": "string"}},
        "assetPaths": {"type": "array", "items": {"type": "string"}},
        "assets": {"type": "object", "additionalProperties": {"$ref": "pulumi.json#/Asset"}},
        "create": {"type": "string"},
        "delete": {"type": "string"},
        "dir": {"type": "string"},
        "environment": {"type": "object", "additionalProperties": {"type": "string"}},
        "interpreter": {"type": "array", "items": {"type": "string"}},
        "logging": {"$ref": "#/types/command:local:Logging"},
        "stderr": {"type": "string"},
        "stdin": {"type": "string"},
        "stdout": {"type": "string"},
        "triggers": {"type": "array", "items": {"$ref": "pulumi.json#/Any"}, "replaceOnChanges": true},
        "update": {"type": "string"}
      },
      "required": ["stderr", "stdout"]
    }
  },
  "functions": {
    "command:local:run": {
      "description": "Runs a command when the program runs (also during preview).",
      "inputs": {
        "properties": {
          "addPreviousOutputInEnv": {"type": "boolean"},
          "archivePaths": {"type": "array", "items": {"type": "string"}},
          "assetPaths": {"type": "array", "items": {"type": "string"}},
          "command": {"type": "string"},
          "dir": {"type": "string"},
          "environment": {"type": "object", "additionalProperties": {"type": "string"}},
          "interpreter": {"type": "array", "items": {"type": "string"}},
          "logging": {"$ref": "#/types/command:local:Logging"},
          "stdin": {"type": "string"}
        },
        "required": ["command"]
      },
      "outputs": {
        "properties": {
          "addPreviousOutputInEnv": {"type": "boolean"},
          "archive": {"$ref": "pulumi.json#/Archive"},
          "archivePaths": {"type": "array", "items": {"type": "string"}},
          "assetPaths": {"type": "array", "items": {"type": "string"}},
          "assets": {"type": "object", "additionalProperties": {"$ref": "pulumi.json#/Asset"}},
          "command": {"type": "string"},
          "dir": {"type": "string"},
          "environment": {"type": "object", "additionalProperties": {"type": "string"}},
          "interpreter": {"type": "array", "items": {"type": "string"}},
          "logging": {"$ref": "#/types/command:local:Logging"},
          "stderr": {"type": "string"},
          "stdin": {"type": "string"},
          "stdout": {"type": "string"}
        },
        "required": ["command", "stderr", "stdout"]
      }
    }
  }
}`
