package event

import (
	"errors"
	"fmt"
)

// Reasons a decode or verification fails; match them with errors.Is.
var (
	ErrTruncated    = errors.New("truncated input")
	ErrBadMagic     = errors.New("wrong magic")
	ErrBadVersion   = errors.New("unknown chunk version")
	ErrBadCodec     = errors.New("unknown chunk codec")
	ErrBadCBOR      = errors.New("malformed CBOR")
	ErrBadRecord    = errors.New("malformed event record")
	ErrUnknownKind  = errors.New("unknown kind tag")
	ErrBadField     = errors.New("invalid field")
	ErrTooLarge     = errors.New("size limit exceeded")
	ErrIDMismatch   = errors.New("event ID does not match its content")
	ErrBadSignature = errors.New("bad signature")
	ErrEmptyChunk   = errors.New("empty chunk")
	ErrHashMismatch = errors.New("chunk hash mismatch")
)

// DecodeError says what was wrong and where (Record is the 0-based index of
// the record in its chunk, -1 when not about one record).
type DecodeError struct {
	Reason error
	Record int
	Detail string
}

func (e *DecodeError) Error() string {
	msg := e.Reason.Error()
	if e.Record >= 0 {
		msg = fmt.Sprintf("record %d: %s", e.Record, msg)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Reason }

// noRecord marks errors not tied to a record; the zero value (record 0) is a
// real index, so constructors set Record explicitly.
const noRecord = -1

func chunkErr(reason error, format string, args ...any) error {
	return &DecodeError{Reason: reason, Record: noRecord, Detail: fmt.Sprintf(format, args...)}
}

func recordErr(i int, reason error, format string, args ...any) error {
	return &DecodeError{Reason: reason, Record: i, Detail: fmt.Sprintf(format, args...)}
}
