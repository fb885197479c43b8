package tools

import "context"

// Op is one operation: the single definition the CLI and MCP both use.
type Op[I, O any] struct {
	Name        string // snake_case; the MCP tool name where one exists
	Title       string
	Description string
	ReadOnly    bool
	Destructive bool
	Idempotent  bool
	OpenWorld   bool
	// WriteLast says Run reads nothing of the view after its one WAL
	// append, so a long-lived session may answer before the view has the
	// new events (Session.DeferViewUpdates).
	WriteLast bool
	// WriteFirst says Run reads nothing of the view before its one WAL
	// append (it writes a new issue), so a session opened for it alone
	// may open the view while the append writes (OpenOptions.WriteFirst).
	WriteFirst bool
	Run        func(ctx context.Context, s *Session, in I) (O, error)
}

// NoInput is the input of an operation that takes none.
type NoInput struct{}

// Call runs the operation and maps any failure onto the error taxonomy.
func (op Op[I, O]) Call(ctx context.Context, s *Session, in I) (O, error) {
	out, err := op.Run(ctx, s, in)
	if err != nil {
		if s != nil {
			err = explainMissing(s.Repo, err)
		}
		return out, AsError(err)
	}
	return out, nil
}
