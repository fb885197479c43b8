package main

import "github.com/spf13/cobra"

func addMaintenance(root *cobra.Command, g *globals) {}
