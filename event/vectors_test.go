package event

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// vectorEvent is the union of every field a vector's event object may hold.
type vectorEvent struct {
	IssueID     string          `json:"issue_id"`
	Actor       string          `json:"actor"`
	TS          uint64          `json:"ts_unix_ms"`
	Parent      *string         `json:"parent"`
	KindTag     uint64          `json:"kind_tag"`
	Title       *string         `json:"title"`
	Body        *string         `json:"body"`
	Labels      []string        `json:"labels"`
	Label       string          `json:"label"`
	State       string          `json:"state"`
	URL         string          `json:"url"`
	Note        *string         `json:"note"`
	User        string          `json:"user"`
	Name        string          `json:"name"`
	SHA256      string          `json:"sha256"`
	MIME        string          `json:"mime"`
	Target      string          `json:"target"`
	DepType     string          `json:"dep_type"`
	Path        string          `json:"path"`
	Language    string          `json:"language"`
	Symbols     []Symbol        `json:"symbols"`
	Summary     string          `json:"summary"`
	ContentHash string          `json:"content_hash"`
	Key         string          `json:"key"`
	Value       string          `json:"value"`
	EventID     string          `json:"event_id"`
	Sig         string          `json:"sig"`
	Extra       json.RawMessage `json:"-"`
}

type vectorFile struct {
	EventVectors []struct {
		Name        string      `json:"name"`
		Event       vectorEvent `json:"event"`
		PreimageHex string      `json:"preimage_hex"`
		EventIDHex  string      `json:"event_id_hex"`
	} `json:"event_vectors"`
	ChunkVectors []struct {
		Name         string        `json:"name"`
		SigningSeed  string        `json:"signing_seed_hex"`
		PublicKey    string        `json:"public_key_hex"`
		Events       []vectorEvent `json:"events"`
		ChunkHex     string        `json:"chunk_hex"`
		ChunkHashHex string        `json:"chunk_hash_hex"`
		WALChunkPath string        `json:"wal_chunk_path"`
	} `json:"chunk_vectors"`
	ContextIssueIDVectors []struct {
		Path       string `json:"path"`
		IssueIDHex string `json:"issue_id_hex"`
	} `json:"context_issue_id_vectors"`
	LockResourceHashVectors []struct {
		Resource        string `json:"resource"`
		ResourceHashHex string `json:"resource_hash_hex"`
		Ref             string `json:"ref"`
	} `json:"lock_resource_hash_vectors"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func (v vectorEvent) toEvent(t testing.TB) Event {
	t.Helper()
	e := Event{TS: v.TS}
	copy(e.IssueID[:], mustHex(t, v.IssueID))
	copy(e.Actor[:], mustHex(t, v.Actor))
	if v.Parent != nil {
		var p EventID
		copy(p[:], mustHex(t, *v.Parent))
		e.Parent = &p
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	switch v.KindTag {
	case TagIssueCreated:
		labels := v.Labels
		if labels == nil {
			labels = []string{}
		}
		e.Kind = IssueCreated{Title: str(v.Title), Body: str(v.Body), Labels: labels}
	case TagIssueUpdated:
		e.Kind = IssueUpdated{Title: v.Title, Body: v.Body}
	case TagCommentAdded:
		e.Kind = CommentAdded{Body: str(v.Body)}
	case TagLabelAdded:
		e.Kind = LabelAdded{Label: v.Label}
	case TagLabelRemoved:
		e.Kind = LabelRemoved{Label: v.Label}
	case TagStateChanged:
		e.Kind = StateChanged{State: State(v.State)}
	case TagLinkAdded:
		e.Kind = LinkAdded{URL: v.URL, Note: v.Note}
	case TagAssigneeAdded:
		e.Kind = AssigneeAdded{User: v.User}
	case TagAssigneeRemoved:
		e.Kind = AssigneeRemoved{User: v.User}
	case TagAttachmentAdded:
		k := AttachmentAdded{Name: v.Name, MIME: v.MIME}
		copy(k.SHA256[:], mustHex(t, v.SHA256))
		e.Kind = k
	case TagDependencyAdded, TagDependencyRemoved:
		var target IssueID
		copy(target[:], mustHex(t, v.Target))
		if v.KindTag == TagDependencyAdded {
			e.Kind = DependencyAdded{Target: target, Type: DepType(v.DepType)}
		} else {
			e.Kind = DependencyRemoved{Target: target, Type: DepType(v.DepType)}
		}
	case TagContextUpdated:
		k := ContextUpdated{Path: v.Path, Language: v.Language, Symbols: v.Symbols, Summary: v.Summary}
		copy(k.ContentHash[:], mustHex(t, v.ContentHash))
		e.Kind = k
	case TagProjectContextUpdated:
		e.Kind = ProjectContextUpdated{Key: v.Key, Value: v.Value}
	default:
		t.Fatalf("vector has unknown kind tag %d", v.KindTag)
	}
	return e
}

func TestEventVectorsPreimageAndID(t *testing.T) {
	v := loadVectors(t)
	if len(v.EventVectors) < 14 {
		t.Fatalf("only %d event vectors loaded", len(v.EventVectors))
	}
	seen := map[uint64]bool{}
	for _, vec := range v.EventVectors {
		t.Run(vec.Name, func(t *testing.T) {
			e := vec.Event.toEvent(t)
			seen[e.Kind.Tag()] = true
			pre, err := e.Preimage()
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(pre); got != vec.PreimageHex {
				t.Errorf("preimage\n got %s\nwant %s", got, vec.PreimageHex)
			}
			id, err := e.ComputeID()
			if err != nil {
				t.Fatal(err)
			}
			if id.String() != vec.EventIDHex {
				t.Errorf("event id got %s want %s", id, vec.EventIDHex)
			}
		})
	}
	for tag := TagIssueCreated; tag <= TagProjectContextUpdated; tag++ {
		if !seen[tag] {
			t.Errorf("no vector covers kind tag %d", tag)
		}
	}
}

func TestChunkVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.ChunkVectors) == 0 {
		t.Fatal("no chunk vectors")
	}
	for _, vec := range v.ChunkVectors {
		t.Run(vec.Name, func(t *testing.T) {
			var key ed25519.PrivateKey
			if vec.SigningSeed != "" {
				key = ed25519.NewKeyFromSeed(mustHex(t, vec.SigningSeed))
				if got := hex.EncodeToString(key.Public().(ed25519.PublicKey)); got != vec.PublicKey {
					t.Fatalf("public key %s want %s", got, vec.PublicKey)
				}
			}
			events := make([]Event, len(vec.Events))
			for i, ve := range vec.Events {
				e := ve.toEvent(t)
				var k ed25519.PrivateKey
				if ve.Sig != "" {
					k = key
				}
				if err := e.Seal(k); err != nil {
					t.Fatal(err)
				}
				if e.ID.String() != ve.EventID {
					t.Fatalf("event %d id %s want %s", i, e.ID, ve.EventID)
				}
				if ve.Sig != "" && hex.EncodeToString(e.Sig) != ve.Sig {
					t.Fatalf("event %d sig %x want %s", i, e.Sig, ve.Sig)
				}
				events[i] = e
			}
			chunk, err := EncodeChunk(events)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(chunk); got != vec.ChunkHex {
				t.Errorf("chunk\n got %s\nwant %s", got, vec.ChunkHex)
			}
			h := ChunkHash(chunk)
			if got := hex.EncodeToString(h[:]); got != vec.ChunkHashHex {
				t.Errorf("chunk hash %s want %s", got, vec.ChunkHashHex)
			}
			if got := ChunkPath(events[0].TS, h); got != vec.WALChunkPath {
				t.Errorf("chunk path %s want %s", got, vec.WALChunkPath)
			}
			decoded, err := VerifyChunk(mustHex(t, vec.ChunkHex))
			if err != nil {
				t.Fatal(err)
			}
			if len(decoded) != len(events) {
				t.Fatalf("decoded %d events want %d", len(decoded), len(events))
			}
			for i := range decoded {
				if decoded[i].ID != events[i].ID || !bytes.Equal(decoded[i].Sig, events[i].Sig) {
					t.Errorf("event %d differs after decode", i)
				}
				if len(decoded[i].Sig) > 0 {
					if err := decoded[i].VerifySignature(key.Public().(ed25519.PublicKey)); err != nil {
						t.Errorf("event %d: %v", i, err)
					}
				}
			}
		})
	}
}

func TestContextIssueIDVectors(t *testing.T) {
	for _, vec := range loadVectors(t).ContextIssueIDVectors {
		if got := FileContextIssueID(vec.Path).String(); got != vec.IssueIDHex {
			t.Errorf("path %q: got %s want %s", vec.Path, got, vec.IssueIDHex)
		}
	}
}

// Lock resource hashes belong to the lock package, but the vector lives here;
// checking the rule (first 8 bytes of SHA-256) keeps the whole file exercised.
func TestLockResourceHashVectorsRule(t *testing.T) {
	for _, vec := range loadVectors(t).LockResourceHashVectors {
		sum := sha256.Sum256([]byte(vec.Resource))
		got := hex.EncodeToString(sum[:8])
		if got != vec.ResourceHashHex || fmt.Sprintf("refs/grite/locks/%s", got) != vec.Ref {
			t.Errorf("resource %q: got %s want %s", vec.Resource, got, vec.ResourceHashHex)
		}
	}
}
