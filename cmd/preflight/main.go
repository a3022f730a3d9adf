// Command preflight tests infrastructure changes on a digital twin of
// production before they go live. See README.md.
package main

import (
	"os"

	"github.com/preflight-sh/preflight/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
