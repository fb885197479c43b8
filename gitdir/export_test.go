package gitdir

// UseNamedTemps makes r write loose objects through named temporary
// files, the path taken where unnamed files are not available.
func (r *Repo) UseNamedTemps() { r.namedTemps = true }

// NamedTemps reports whether r writes loose objects through named
// temporary files (set up so, or fallen back to).
func (r *Repo) NamedTemps() bool { return r.namedTemps }

// SweepRetired removes retired files of writers that died in a turn.
func (r *Repo) SweepRetired() { r.sweepRetired() }
