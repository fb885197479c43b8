package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"grite/tools"
)

func gcCmd(g *globals) *cobra.Command {
	var in tools.GCInput
	c := &cobra.Command{Use: "gc [--auto]", Short: "Pack grite's loose objects and merge its small packs",
		Long: `Pack the loose objects of grite's refs (refs/grite/*) into one pack and merge
grite's small packs, as git gc keeps a repository compact. Only objects and
packs grite wrote are touched: the user's objects, and packs git made, are
left as they are. grite runs this by itself, in the background, once 128
loose objects have accumulated (set GRITE_AUTO_PACK=0 to turn that off), in
a quiet moment: once no grite process has written an object for 2 s, or at
once when 8,192 have accumulated. --auto does the same, waiting up to a
minute for the quiet moment (and returning at once while another grite gc
--auto waits).`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withBareOp(g, tools.GC, in, func(w io.Writer, o tools.GCOutput) {
				switch {
				case o.Skipped != "":
					fmt.Fprintf(w, "nothing packed: %s\n", o.Skipped)
				case o.Objects == 0:
					fmt.Fprintln(w, "no loose objects of grite's to pack")
				default:
					fmt.Fprintf(w, "packed %s into %s; removed %s\n", tools.Plural(o.Objects, "object"), o.Pack, tools.Plural(o.Removed, "loose file"))
				}
				if o.Merged > 0 {
					fmt.Fprintf(w, "merged %s of grite's\n", tools.Plural(o.Merged, "pack"))
				}
			})
		}}
	c.Flags().BoolVar(&in.Auto, "auto", false, "pack only when due: enough loose objects, in a quiet moment")
	return c
}

// packInBackground starts 'grite gc --auto' detached from this process
// and its terminal, as git runs its automatic gc: the command that wrote
// the objects has done its work and exits without waiting. Best effort.
func packInBackground(dir string) {
	self, err := os.Executable()
	if err != nil {
		return
	}
	cmd := exec.Command(self, "gc", "--auto", "--quiet")
	cmd.Dir = dir
	detach(cmd)
	if cmd.Start() == nil {
		_ = cmd.Process.Release()
	}
}
