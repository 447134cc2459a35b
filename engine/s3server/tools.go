//go:build tools

// Package s3server pins gofakes3, the S3-compatible server the shared-state tests run on loopback
// (test/backend/). It is a test tool, not part of the engine: scripts/build-engine.sh builds it into
// .tools/bin/gofakes3 from the Go module proxy, cached like the engine.
package s3server

import (
	_ "github.com/johannesboyne/gofakes3/cmd/gofakes3"
)
