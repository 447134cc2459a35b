/**
 * The project-file readers without MSBuild: the strict XML reader, the MSBuild evaluator for .vcxproj files
 * (properties, conditions, macros, item definitions, items, unsupported features) and the .sln reader, on the
 * project files of examples/ioctl (the same files an adk user opens in Visual Studio) and on small projects
 * written here to exercise one rule each.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parseSln, readSln, SLN_PROJECT_TYPES, solutionBuildPlan } from "../../formats/sln";
import {
  evaluateVcxproj,
  loadVcxproj,
  ProjectFormatError,
  parseXml,
  readVcxproj,
  type VcxConfiguration,
} from "../../formats/vcxproj";

const REPO = path.resolve(__dirname, "..", "..");
const EXAMPLE = path.join(REPO, "examples", "ioctl");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "winpe-vcxproj-test-"));
let counter = 0;

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Write a project into its own folder (with the named source files) and return its path. */
function project(body: string, options: { sources?: string[]; configs?: string[]; name?: string } = {}): string {
  const dir = path.join(scratch, `p${counter++}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const s of options.sources ?? ["main.c"]) {
    fs.mkdirSync(path.dirname(path.join(dir, s)), { recursive: true });
    fs.writeFileSync(path.join(dir, s), "int x;\n");
  }
  const configs = options.configs ?? ["Debug|x64", "Release|x64", "Debug|ARM64", "Release|ARM64"];
  const file = path.join(dir, options.name ?? "test.vcxproj");
  fs.writeFileSync(
    file,
    `<?xml version="1.0" encoding="utf-8"?>
<Project DefaultTargets="Build" xmlns="http://schemas.microsoft.com/developer/msbuild/2003">
  <ItemGroup Label="ProjectConfigurations">
${configs
  .map((c) => {
    const [cfg, plat] = c.split("|");
    return `    <ProjectConfiguration Include="${c}"><Configuration>${cfg}</Configuration><Platform>${plat}</Platform></ProjectConfiguration>`;
  })
  .join("\n")}
  </ItemGroup>
  <Import Project="$(VCTargetsPath)\\Microsoft.Cpp.Default.props" />
${body}
  <Import Project="$(VCTargetsPath)\\Microsoft.Cpp.targets" />
</Project>
`,
  );
  return file;
}

function evaluate(file: string, configuration = "Debug", platform = "x64"): VcxConfiguration {
  return loadVcxproj(file, { configuration, platform });
}

function errorOf(f: () => unknown): ProjectFormatError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ProjectFormatError);
    return e as ProjectFormatError;
  }
  throw new Error("expected a ProjectFormatError");
}

describe("XML reader", () => {
  it("reads elements, attributes, text, entities, CDATA, comments, a BOM and CRLF", () => {
    const root = parseXml(
      '\uFEFF<?xml version="1.0"?>\r\n<!-- c -->\r\n<a x="1 &amp; 2" y=\'&lt;&#65;&#x42;\'>\r\n  <b>t&gt;<![CDATA[<raw>]]></b><c/><!-- d -->\r\n</a>\r\n',
      "t.xml",
    );
    expect(root.name).toBe("a");
    expect(root.attributes).toEqual({ x: "1 & 2", y: "<AB" });
    expect(root.children.map((c) => c.name)).toEqual(["b", "c"]);
    expect(root.children[0]!.text).toBe("t><raw>");
    expect(root.children[0]!.line).toBe(4);
  });

  const bad: Array<[string, RegExp]> = [
    ["", /t\.xml:1: not valid XML: the document is empty/],
    ["not xml", /t\.xml:1: not valid XML: text before the root element/],
    ["<a>\n<b>\n</a>", /t\.xml:3: not valid XML: <\/a> closes <b> \(opened on line 2\)/],
    ["<a>\n<b>", /t\.xml:2: not valid XML: <b> \(line 2\) is never closed/],
    ['<a x="1" x="2"/>', /attribute 'x' appears twice/],
    ["<a x=1/>", /value of attribute 'x' is not quoted/],
    ["<a>&nbsp;</a>", /unknown entity '&nbsp;'/],
    ['<!DOCTYPE a [<!ENTITY e "x">]><a/>', /DOCTYPE declarations are not supported/],
    ["<a/><b/>", /content after the root element/],
    ["<a><!-- x</a>", /unterminated comment/],
    ['<a x="<"/>', /'<' in the value of attribute 'x'/],
    ["\n\n<a>]]></a>", /t\.xml:3: .*']]>' in character data/],
  ];
  for (const [text, pattern] of bad) {
    it(`rejects ${JSON.stringify(text).slice(0, 40)}`, () => {
      const e = errorOf(() => parseXml(text, "t.xml"));
      expect(e.message).toMatch(pattern);
      expect(e.file).toBe("t.xml");
    });
  }

  it("limits depth and size", () => {
    expect(() => parseXml(`${"<a>".repeat(100)}${"</a>".repeat(100)}`, "deep.xml")).toThrow(/nested deeper than 64/);
    expect(() => parseXml("<a/>", "big.xml", { maxChars: 3 })).toThrow(/larger than 3 characters/);
  });

  it("random corruption of a real project file is parsed or rejected with a ProjectFormatError, never a crash", () => {
    const text = fs.readFileSync(path.join(EXAMPLE, "sys", "sioctl.vcxproj"), "utf8");
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(text.length - 1), fc.constantFrom("<", ">", "/", '"', "&", "=", " ", "x", "")), {
          minLength: 1,
          maxLength: 8,
        }),
        (edits) => {
          let t = text;
          for (const [at, ch] of edits) t = t.slice(0, at) + ch + t.slice(at + 1);
          try {
            parseXml(t, "fuzz.vcxproj");
          } catch (e) {
            if (!(e instanceof ProjectFormatError)) throw e;
            expect(e.message).toMatch(/^fuzz\.vcxproj:\d+: not valid XML: /);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("examples/ioctl project files", () => {
  for (const configuration of ["Debug", "Release"]) {
    for (const platform of ["x64", "ARM64"]) {
      it(`sioctl.vcxproj ${configuration}|${platform}`, () => {
        const c = evaluate(path.join(EXAMPLE, "sys", "sioctl.vcxproj"), configuration, platform);
        expect(c).toMatchObject({
          configuration,
          platform,
          configurationType: "Driver",
          driverType: "WDM",
          targetName: "sioctl",
          targetExt: ".sys",
          useDebugLibraries: configuration === "Debug",
          targetVersion: "Windows10",
          platformToolset: "WindowsKernelModeDriver10.0",
          projectGuid: "{45B72E4E-2B88-43D7-9DBC-F15BE0B2A8F8}",
        });
        expect(c.sources.map((s) => s.file)).toEqual([path.join(EXAMPLE, "sys", "sioctl.c")]);
        const s = c.sources[0]!.settings;
        // $(ProjectDir)..\inc resolved; $(Configuration) expanded; Debug-only definition first, as MSBuild orders it
        expect(s.additionalIncludeDirectories).toEqual([path.join(EXAMPLE, "inc")]);
        expect(s.preprocessorDefinitions).toEqual(
          configuration === "Debug"
            ? ["SIOCTL_VERBOSE=1", "SIOCTL_CONFIGURATION_Debug=1"]
            : ["SIOCTL_CONFIGURATION_Release=1"],
        );
        expect(c.headers).toEqual([path.join(EXAMPLE, "inc", "public.h")]);
      });

      it(`ioctlapp.vcxproj ${configuration}|${platform}`, () => {
        const c = evaluate(path.join(EXAMPLE, "exe", "ioctlapp.vcxproj"), configuration, platform);
        expect(c).toMatchObject({
          configurationType: "Application",
          targetName: "ioctlapp",
          targetExt: ".exe",
          characterSet: "Unicode",
        });
        const s = c.sources[0]!.settings;
        expect(s.runtimeLibrary).toBe(configuration === "Debug" ? "MultiThreadedDebug" : "MultiThreaded");
        expect(s.additionalIncludeDirectories).toEqual([path.join(EXAMPLE, "inc")]); // $(MSBuildThisFileDirectory)..\inc
        expect(s.preprocessorDefinitions).toEqual([configuration === "Debug" ? "_DEBUG" : "NDEBUG", "_CONSOLE"]);
        expect(c.link).toMatchObject({
          subsystem: "Console",
          entryPointSymbol: "",
          additionalDependencies: ["advapi32.lib", "kernel32.lib"],
          inheritsDefaultDependencies: true,
          generateDebugInformation: "true",
          additionalOptions: { text: "" },
        });
      });
    }
  }

  it("ioctl.sln lists both projects and maps every solution configuration", () => {
    const sln = readSln(path.join(EXAMPLE, "ioctl.sln"));
    expect(sln.formatVersion).toBe("12.00");
    expect(sln.configurations).toEqual(["Debug|x64", "Release|x64", "Debug|ARM64", "Release|ARM64"]);
    expect(sln.projects.map((p) => [p.name, p.file, p.typeGuid])).toEqual([
      ["sioctl", path.join(EXAMPLE, "sys", "sioctl.vcxproj"), SLN_PROJECT_TYPES.vcxproj],
      ["ioctlapp", path.join(EXAMPLE, "exe", "ioctlapp.vcxproj"), SLN_PROJECT_TYPES.vcxproj],
    ]);
    for (const cfg of sln.configurations) {
      const [c, p] = cfg.split("|") as [string, string];
      const plan = solutionBuildPlan(sln, c, p);
      expect(plan.map((e) => [e.project.name, e.configuration, e.platform])).toEqual([
        ["sioctl", c, p],
        ["ioctlapp", c, p],
      ]);
    }
    // the GUIDs in the solution are the projects' own
    for (const p of sln.projects) expect(readVcxproj(p.file).projectGuid).toBe(p.guid);
  });
});

describe("MSBuild evaluation", () => {
  it("conditions: ==, !=, and/or/!, parentheses, case-insensitive compare, exists(), HasTrailingSlash(), numbers", () => {
    const file = project(`
  <PropertyGroup>
    <A Condition="'$(Configuration)|$(Platform)'=='debug|X64'">eq</A>
    <B Condition="'$(Platform)' != 'x64'">ne</B>
    <C Condition="('$(Configuration)'=='Debug' and '$(Platform)'=='x64') or false">andor</C>
    <D Condition="!exists('$(ProjectDir)main.c')">missing</D>
    <D Condition="exists('$(ProjectDir)main.c')">present</D>
    <E Condition="HasTrailingSlash('$(ProjectDir)') and 10 &gt; 9 and 2 &lt;= 2">slash</E>
    <F Condition="'$(Undefined)' == ''">empty</F>
    <G Condition="!('$(A)' == 'eq')">not</G>
    <ConfigurationType>Application</ConfigurationType>
  </PropertyGroup>
  <ItemGroup><ClCompile Include="main.c" /></ItemGroup>`);
    const c = evaluate(file);
    expect(c.properties).toMatchObject({ A: "eq", C: "andor", D: "present", E: "slash", F: "empty" });
    expect(c.properties.B).toBeUndefined();
    expect(c.properties.G).toBeUndefined();
    expect(evaluate(file, "Debug", "ARM64").properties).toMatchObject({ B: "ne" });
  });

  it("macros: properties referencing properties, $(ProjectDir), $(MSBuildThisFileDirectory), $(SolutionDir), %(...)", () => {
    const file = project(
      `
  <PropertyGroup>
    <ConfigurationType>Driver</ConfigurationType>
    <Common>$(ProjectDir)common</Common>
    <TargetName>drv_$(Platform)</TargetName>
  </PropertyGroup>
  <ItemDefinitionGroup>
    <ClCompile>
      <AdditionalIncludeDirectories>$(Common);$(MSBuildThisFileDirectory)inc\\$(Configuration);%(AdditionalIncludeDirectories)</AdditionalIncludeDirectories>
      <PreprocessorDefinitions>FIRST;%(PreprocessorDefinitions)</PreprocessorDefinitions>
    </ClCompile>
  </ItemDefinitionGroup>
  <ItemDefinitionGroup Condition="'$(Configuration)'=='Debug'">
    <ClCompile>
      <PreprocessorDefinitions>%(PreprocessorDefinitions);DEBUG_ONLY=1;PATH_TEST="$(Platform)"</PreprocessorDefinitions>
    </ClCompile>
  </ItemDefinitionGroup>
  <ItemGroup>
    <ClCompile Include="main.c" />
    <ClCompile Include="src\\extra.c">
      <PreprocessorDefinitions>ITEM=1;%(PreprocessorDefinitions)</PreprocessorDefinitions>
      <AdditionalIncludeDirectories>$(SolutionDir)shared;%(AdditionalIncludeDirectories)</AdditionalIncludeDirectories>
    </ClCompile>
  </ItemGroup>`,
      { sources: ["main.c", "src/extra.c"] },
    );
    const dir = path.dirname(file);
    const c = loadVcxproj(file, { configuration: "Debug", platform: "ARM64", solutionDir: path.join(dir, "..") });
    expect(c.targetName).toBe("drv_ARM64");
    expect(c.sources[0]!.settings.additionalIncludeDirectories).toEqual([
      path.join(dir, "common"),
      path.join(dir, "inc", "Debug"),
    ]);
    expect(c.sources[0]!.settings.preprocessorDefinitions).toEqual(["FIRST", "DEBUG_ONLY=1", 'PATH_TEST="ARM64"']);
    expect(c.sources[1]!.file).toBe(path.join(dir, "src", "extra.c"));
    expect(c.sources[1]!.settings.preprocessorDefinitions).toEqual([
      "ITEM=1",
      "FIRST",
      "DEBUG_ONLY=1",
      'PATH_TEST="ARM64"',
    ]);
    expect(c.sources[1]!.settings.additionalIncludeDirectories[0]).toBe(path.join(scratch, "shared"));
    const rel = evaluate(file, "Release", "x64");
    expect(rel.sources[0]!.settings.preprocessorDefinitions).toEqual(["FIRST"]);
  });

  it("per-configuration ExcludedFromBuild on an item", () => {
    const file = project(
      `
  <PropertyGroup><ConfigurationType>Application</ConfigurationType></PropertyGroup>
  <ItemGroup>
    <ClCompile Include="main.c" />
    <ClCompile Include="arm.c">
      <ExcludedFromBuild Condition="'$(Platform)'=='x64'">true</ExcludedFromBuild>
    </ClCompile>
  </ItemGroup>`,
      { sources: ["main.c", "arm.c"] },
    );
    const dir = path.dirname(file);
    expect(evaluate(file, "Debug", "x64").sources.map((s) => path.basename(s.file))).toEqual(["main.c"]);
    expect(evaluate(file, "Debug", "x64").excludedSources).toEqual([path.join(dir, "arm.c")]);
    expect(evaluate(file, "Debug", "ARM64").sources.map((s) => path.basename(s.file))).toEqual(["main.c", "arm.c"]);
  });

  it("wildcards in passive items, Exclude=@(Type), toolchain include macros dropped, IncludePath", () => {
    const file = project(
      `
  <PropertyGroup>
    <ConfigurationType>Driver</ConfigurationType>
    <IncludePath>$(ProjectDir)vc;$(IncludePath)</IncludePath>
  </PropertyGroup>
  <ItemDefinitionGroup><ClCompile>
    <AdditionalIncludeDirectories>$(DDK_INC_PATH);$(KM_IncludePath)\\;..\\up;%(AdditionalIncludeDirectories)</AdditionalIncludeDirectories>
  </ClCompile></ItemDefinitionGroup>
  <ItemGroup>
    <ClCompile Include="main.c" />
    <ClInclude Include="*.h" />
    <ClInclude Exclude="@(ClInclude)" Include="*.h;*.hpp" />
    <Inf Exclude="@(Inf)" Include="*.inf" />
    <None Include="*.txt" />
  </ItemGroup>`,
      { sources: ["main.c", "a.h", "b.h"] },
    );
    const dir = path.dirname(file);
    const c = evaluate(file);
    expect(c.headers).toEqual([path.join(dir, "a.h"), path.join(dir, "b.h")]);
    expect(c.includePath).toEqual([path.join(dir, "vc")]);
    expect(c.sources[0]!.settings.additionalIncludeDirectories).toEqual([path.join(dir, "..", "up")]);
  });

  const unsupported: Array<[string, string, RegExp, string]> = [
    [
      "a custom build item",
      `<ItemGroup><ClCompile Include="main.c" /><CustomBuild Include="main.c" /></ItemGroup>`,
      /:\d+: custom build tools \(CustomBuild\) are not supported by the open toolchain/,
      "CustomBuild",
    ],
    [
      "a custom build step",
      `<ItemDefinitionGroup><CustomBuildStep><Command>gen.exe</Command></CustomBuildStep></ItemDefinitionGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /CustomBuildStep with a command is not supported .*gen\.exe/,
      "CustomBuildStep",
    ],
    [
      "a pre-build event",
      `<ItemDefinitionGroup Condition="'$(Platform)'=='x64'"><PreBuildEvent><Command>echo hi</Command></PreBuildEvent></ItemDefinitionGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /PreBuildEvent with a command is not supported/,
      "PreBuildEvent",
    ],
    [
      "an import of a NuGet targets file",
      `<Import Project="..\\packages\\x\\build\\x.targets" Condition="Exists('..\\packages\\x\\build\\x.targets') or true" /><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /Import of '\.\.\\packages\\x\\build\\x\.targets' is not supported/,
      "Import",
    ],
    [
      "a PrecompiledHeader value that is not Create, Use or NotUsing",
      `<ItemGroup><ClCompile Include="main.c"><PrecompiledHeader>Sometimes</PrecompiledHeader></ClCompile></ItemGroup>`,
      /:\d+: PrecompiledHeader=Sometimes is not Create, Use or NotUsing/,
      "PrecompiledHeader",
    ],
    [
      "an unknown ConfigurationType",
      `<PropertyGroup><ConfigurationType>Firmware</ConfigurationType></PropertyGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /unknown ConfigurationType 'Firmware' for Debug\|x64/,
      "ConfigurationType",
    ],
    [
      "a custom target",
      `<Target Name="Sneaky" BeforeTargets="Build" /><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /custom build target <Target Name="Sneaky">/,
      "Target",
    ],
    [
      "a property function",
      `<PropertyGroup><X>$([System.IO.Path]::GetTempPath())</X></PropertyGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /property functions and registry references are not supported/,
      "property function",
    ],
    [
      "resource compiler options",
      `<ItemDefinitionGroup><ResourceCompile><AdditionalOptions>/y %(AdditionalOptions)</AdditionalOptions></ResourceCompile></ItemDefinitionGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /:\d+: resource compiler options \(ResourceCompile AdditionalOptions '\/y ?'\) are not supported/,
      "AdditionalOptions",
    ],
    [
      "an unknown compiler setting",
      `<ItemDefinitionGroup><ClCompile><FancyNewSwitch>true</FancyNewSwitch></ClCompile></ItemDefinitionGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /ClCompile setting <fancynewswitch> is not supported/,
      "fancynewswitch",
    ],
    [
      "WPP tracing",
      `<ItemDefinitionGroup><ClCompile><WppEnabled>true</WppEnabled></ClCompile></ItemDefinitionGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /:\d+: WPP software tracing \(WppEnabled=true\) is not supported by the open toolchain .*; build this project with the adk toolchain/,
      "WppEnabled",
    ],
    [
      "a message file",
      `<ItemGroup><ClCompile Include="main.c" /><MessageCompile Include="main.c" /></ItemGroup>`,
      /:\d+: message files \(MessageCompile, \.mc\) are not supported/,
      "MessageCompile",
    ],
    [
      "an undefined macro in include folders",
      `<ItemDefinitionGroup><ClCompile><AdditionalIncludeDirectories>$(ThirdPartyRoot)\\inc</AdditionalIncludeDirectories></ClCompile></ItemDefinitionGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /AdditionalIncludeDirectories entry '\$\(ThirdPartyRoot\)\\inc' uses \$\(ThirdPartyRoot\), which is not defined/,
      "$(ThirdPartyRoot)",
    ],
    [
      "an absolute Windows include folder",
      `<ItemDefinitionGroup><ClCompile><AdditionalIncludeDirectories>C:\\WinDDK\\inc</AdditionalIncludeDirectories></ClCompile></ItemDefinitionGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /entry 'C:\\WinDDK\\inc' is an absolute Windows path/,
      "",
    ],
    [
      "Choose/When",
      `<Choose><When Condition="true"><PropertyGroup><X>1</X></PropertyGroup></When></Choose><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
      /<Choose>\/<When> blocks are not supported/,
      "Choose",
    ],
  ];
  for (const [what, body, pattern, feature] of unsupported) {
    it(`rejects ${what}, naming the file and the feature`, () => {
      const file = project(body);
      const e = errorOf(() => evaluate(file));
      expect(e.message.startsWith(file)).toBe(true);
      expect(e.message).toMatch(pattern);
      expect(e.file).toBe(file);
      if (feature) expect(e.feature).toBe(feature);
    });
  }

  it("rejects a platform or configuration the project lacks", () => {
    const file = project(`<ItemGroup><ClCompile Include="main.c" /></ItemGroup>`, {
      configs: ["Debug|x64", "Release|x64"],
    });
    const e = errorOf(() => evaluate(file, "Debug", "ARM64"));
    expect(e.message).toBe(`${file}: the project has no platform 'ARM64' (it has: x64)`);
    expect(e.feature).toBe("platform");
    expect(errorOf(() => evaluate(file, "Checked", "x64")).message).toMatch(
      /has no configuration 'Checked\|x64' \(it has: Debug\|x64, Release\|x64\)/,
    );
  });

  it("a missing project file and a non-project root element", () => {
    expect(errorOf(() => readVcxproj(path.join(scratch, "none.vcxproj"))).message).toMatch(
      /none\.vcxproj: project file not found/,
    );
    const f = path.join(scratch, "root.vcxproj");
    fs.writeFileSync(f, "<Solution/>");
    expect(errorOf(() => readVcxproj(f)).message).toMatch(/root\.vcxproj:1: root element is <Solution>/);
    const sdk = path.join(scratch, "sdk.vcxproj");
    fs.writeFileSync(sdk, '<Project Sdk="Microsoft.NET.Sdk"/>');
    expect(errorOf(() => readVcxproj(sdk)).feature).toBe("Sdk");
  });

  it("evaluation is per configuration: one read, many evaluations", () => {
    const vcx = readVcxproj(path.join(EXAMPLE, "sys", "sioctl.vcxproj"));
    expect(vcx.configurations).toHaveLength(4);
    const a = evaluateVcxproj(vcx, { configuration: "Debug", platform: "x64" });
    const b = evaluateVcxproj(vcx, { configuration: "Release", platform: "ARM64" });
    expect(a.useDebugLibraries).toBe(true);
    expect(b.useDebugLibraries).toBe(false);
  });
});

describe("solution reader", () => {
  const GUID_A = "{11111111-1111-1111-1111-111111111111}";
  const GUID_B = "{22222222-2222-2222-2222-222222222222}";
  const FOLDER = "{33333333-3333-3333-3333-333333333333}";
  const sln = (extra = "") => `\uFEFF
Microsoft Visual Studio Solution File, Format Version 12.00
# Visual Studio Version 17
VisualStudioVersion = 17.0.31903.59
Project("${SLN_PROJECT_TYPES.solutionFolder}") = "Folder", "Folder", "${FOLDER}"
EndProject
Project("${SLN_PROJECT_TYPES.vcxproj}") = "app", "app\\app.vcxproj", "${GUID_A}"
	ProjectSection(ProjectDependencies) = postProject
		${GUID_B} = ${GUID_B}
	EndProjectSection
EndProject
Project("${SLN_PROJECT_TYPES.vcxproj}") = "drv", "drv\\drv.vcxproj", "${GUID_B}"
EndProject
Global
	GlobalSection(SolutionConfigurationPlatforms) = preSolution
		Debug|x64 = Debug|x64
		Debug|ARM64 = Debug|ARM64
	EndGlobalSection
	GlobalSection(ProjectConfigurationPlatforms) = postSolution
		${GUID_A}.Debug|x64.ActiveCfg = Debug|x64
		${GUID_A}.Debug|x64.Build.0 = Debug|x64
		${GUID_B}.Debug|x64.ActiveCfg = Release|x64
		${GUID_B}.Debug|x64.Build.0 = Release|x64
		${GUID_A}.Debug|ARM64.ActiveCfg = Debug|ARM64
		${GUID_B}.Debug|ARM64.ActiveCfg = Debug|ARM64
		${GUID_B}.Debug|ARM64.Build.0 = Debug|ARM64
	EndGlobalSection
${extra}EndGlobal
`;

  it("maps solution configurations to project configurations; dependencies build first; folders are skipped", () => {
    const s = parseSln(sln(), "/src/x.sln");
    expect(s.projects.find((p) => p.isFolder)?.name).toBe("Folder");
    expect(s.projects.find((p) => p.name === "app")?.dependencies).toEqual([GUID_B]);
    expect(solutionBuildPlan(s, "Debug", "x64").map((e) => [e.project.name, e.configuration, e.platform])).toEqual([
      ["drv", "Release", "x64"],
      ["app", "Debug", "x64"],
    ]);
    // app has no Build.0 for ARM64: not built there
    expect(solutionBuildPlan(s, "debug", "arm64").map((e) => e.project.name)).toEqual(["drv"]);
    expect(s.projects.find((p) => p.name === "app")?.file).toBe("/src/app/app.vcxproj");
  });

  it("errors name the file and line", () => {
    expect(() => parseSln("hello\n", "/s.sln")).toThrow(/\/s\.sln:1: not a Visual Studio solution/);
    expect(() => parseSln(sln().replace("EndProject\nProject(", "Project("), "/s.sln")).toThrow(
      /\/s\.sln:\d+: unexpected line inside Project/,
    );
    expect(() => parseSln(sln().replace(/EndGlobal\n$/, ""), "/s.sln")).toThrow(/missing EndGlobal/);
    expect(() =>
      parseSln(sln().replace(`${GUID_A}.Debug|x64.ActiveCfg`, `${GUID_A}.Debug|x64.Whatever`), "/s.sln"),
    ).toThrow(/malformed project configuration line/);
    const s = parseSln(sln(), "/s.sln");
    expect(() => solutionBuildPlan(s, "Release", "x64")).toThrow(
      "/s.sln: the solution has no configuration 'Release|x64' (it has: Debug|x64, Debug|ARM64)",
    );
    expect(() => solutionBuildPlan(s, "Debug", "Win32")).toThrow(
      "/s.sln: the solution has no platform 'Win32' (it has: x64, ARM64)",
    );
    expect(() => readSln(path.join(scratch, "none.sln"))).toThrow(/none\.sln: solution file not found/);
  });

  it("reports a dependency cycle", () => {
    const cyclic = sln().replace(
      `Project("${SLN_PROJECT_TYPES.vcxproj}") = "drv", "drv\\drv.vcxproj", "${GUID_B}"\n`,
      `Project("${SLN_PROJECT_TYPES.vcxproj}") = "drv", "drv\\drv.vcxproj", "${GUID_B}"\n\tProjectSection(ProjectDependencies) = postProject\n\t\t${GUID_A} = ${GUID_A}\n\tEndProjectSection\n`,
    );
    expect(() => solutionBuildPlan(parseSln(cyclic, "/c.sln"), "Debug", "x64")).toThrow(/dependency cycle/);
  });
});

describe("what real WDK projects use (issue 14)", () => {
  it("reads ResourceCompile items with their settings; precompiled-header, warning and debug settings", () => {
    const file = project(
      `
  <ItemDefinitionGroup>
    <ClCompile>
      <PrecompiledHeader>Use</PrecompiledHeader>
      <PrecompiledHeaderFile>pch.h</PrecompiledHeaderFile>
      <WarningLevel>Level4</WarningLevel>
      <TreatWarningAsError>true</TreatWarningAsError>
      <DisableSpecificWarnings>4201;4214;%(DisableSpecificWarnings)</DisableSpecificWarnings>
      <DebugInformationFormat>ProgramDatabase</DebugInformationFormat>
      <AdditionalOptions>%(AdditionalOptions) /Gy /wd4100</AdditionalOptions>
    </ClCompile>
    <ResourceCompile>
      <PreprocessorDefinitions>RC_LEVEL=2;%(PreprocessorDefinitions)</PreprocessorDefinitions>
      <AdditionalIncludeDirectories>%(AdditionalIncludeDirectories);$(DDK_INC_PATH);..\\shared</AdditionalIncludeDirectories>
      <Culture>0x0409</Culture>
    </ResourceCompile>
    <Link>
      <AdditionalOptions>%(AdditionalOptions) /LARGEADDRESSAWARE</AdditionalOptions>
      <GenerateDebugInformation>false</GenerateDebugInformation>
    </Link>
  </ItemDefinitionGroup>
  <ItemGroup>
    <ClCompile Include="pch.c"><PrecompiledHeader>Create</PrecompiledHeader></ClCompile>
    <ClCompile Include="main.c" />
    <ResourceCompile Include="Version.RC"><PreprocessorDefinitions>ONLY_HERE;%(PreprocessorDefinitions)</PreprocessorDefinitions></ResourceCompile>
  </ItemGroup>`,
      { sources: ["main.c", "pch.c", "version.rc"] },
    );
    const dir = path.dirname(file);
    const c = evaluate(file);
    const [pch, main] = c.sources;
    expect(pch!.settings.precompiledHeader).toBe("Create");
    expect(main!.settings).toMatchObject({
      precompiledHeader: "Use",
      precompiledHeaderFile: "pch.h",
      warningLevel: "Level4",
      treatWarningAsError: true,
      disableSpecificWarnings: [4201, 4214],
      debugInformationFormat: "ProgramDatabase",
      additionalOptions: { text: "/Gy /wd4100" },
    });
    expect(main!.settings.additionalOptions.line).toBeGreaterThan(1);
    // Version.RC written in another letter case than the file on disk (version.rc): found, as on Windows
    expect(c.resources).toHaveLength(1);
    expect(c.resources[0]!.file).toBe(path.join(dir, "version.rc"));
    expect(c.resources[0]!.settings).toMatchObject({
      preprocessorDefinitions: ["ONLY_HERE", "RC_LEVEL=2"],
      additionalIncludeDirectories: [path.join(dir, "..", "shared")], // $(DDK_INC_PATH) is the toolchain's
      culture: "0x0409",
    });
    expect(c.link.additionalOptions.text).toBe("/LARGEADDRESSAWARE");
    expect(c.link.generateDebugInformation).toBe("false");
  });

  it("reads UTF-16 project files with a byte-order mark; a UTF-8 BOM and CRLF line ends count lines as MSBuild does", () => {
    const file = project(
      `<PropertyGroup><TargetName>wide</TargetName></PropertyGroup><ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
    );
    const text = fs.readFileSync(file, "utf8").replace(/\n/g, "\r\n");
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]));
    expect(evaluate(file).targetName).toBe("wide");
    fs.writeFileSync(
      file,
      `\ufeff${text.replace('<ClCompile Include="main.c" />', '<ClCompile Include="main.c">\r\n<Bogus>1</Bogus></ClCompile>')}`,
    );
    const e = errorOf(() => evaluate(file));
    expect(e.line).toBe(text.slice(0, text.indexOf("<ClCompile")).split("\n").length + 1);
  });

  it("toolchain properties, derived properties, a property check, and %(Type.Name) in metadata conditions", () => {
    const file = project(
      `
  <PropertyGroup><DriverType>WDM</DriverType><TargetVersion>Windows10</TargetVersion></PropertyGroup>
  <ItemDefinitionGroup><ClCompile>
    <PreprocessorDefinitions Condition="$(_NT_TARGET_VERSION) &gt;= $(_NT_TARGET_VERSION_WIN8)">NEW_ENOUGH;%(PreprocessorDefinitions)</PreprocessorDefinitions>
    <PreprocessorDefinitions Condition="'%(ClCompile.CompileAs)' == ''">DEFAULT_LANG;%(PreprocessorDefinitions)</PreprocessorDefinitions>
  </ClCompile><Link>
    <AdditionalDependencies>$(DDK_LIB_PATH)\\wdmsec.lib;%(AdditionalDependencies)</AdditionalDependencies>
  </Link></ItemDefinitionGroup>
  <ItemGroup><ClCompile Include="main.c" /></ItemGroup>`,
    );
    const seen: string[] = [];
    const c = loadVcxproj(file, {
      configuration: "Debug",
      platform: "x64",
      toolchainProperties: { DDK_LIB_PATH: "/kit/km", _NT_TARGET_VERSION_WIN8: "0x0602" },
      derivedProperties: (prop) => ({ _NT_TARGET_VERSION: prop("TargetVersion") === "Windows10" ? "0x0A00" : "0" }),
      checkProperties: (prop, line) => void seen.push(`${prop("DriverType")}@${line("DriverType")}`),
    });
    expect(c.sources[0]!.settings.preprocessorDefinitions).toEqual(["DEFAULT_LANG", "NEW_ENOUGH"]);
    expect(c.link.additionalDependencies).toEqual(["/kit/km\\wdmsec.lib"]);
    expect(seen).toEqual([`WDM@${c.propertyLines.DriverType}`]);
    expect(c.propertyLines.DriverType).toBeGreaterThan(1);
    // a check that refuses stops the evaluation before the items are read
    expect(() =>
      loadVcxproj(file, {
        configuration: "Debug",
        platform: "x64",
        checkProperties: () => {
          throw new ProjectFormatError(`${file}: refused`, file);
        },
      }),
    ).toThrow(/refused/);
  });

  it("INF files are packaging, not compilation: ignored", () => {
    const file = project(`<ItemGroup><ClCompile Include="main.c" /><Inf Include="drv.inf" /></ItemGroup>`);
    fs.writeFileSync(path.join(path.dirname(file), "drv.inf"), "[Version]\r\n");
    expect(evaluate(file).sources).toHaveLength(1);
  });
});
