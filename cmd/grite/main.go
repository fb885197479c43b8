// Command grite is the command-line interface of the grite issue tracker.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "grite: not yet implemented")
	os.Exit(1)
}
