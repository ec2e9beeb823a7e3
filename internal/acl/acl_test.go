package acl

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	dovecotRights = "texk"  // what Dovecot 2.3 advertises
	cyrusRights   = "kxten" // what Cyrus 3.6 advertises
	rfc2086Rights = ""      // an RFC 2086-only server
)

func TestRightStringsAreAPI(t *testing.T) {
	var got []string
	for _, r := range AllRights() {
		got = append(got, string(r))
	}
	want := "lookup read insert write setSeen post create delete administer"
	if strings.Join(got, " ") != want {
		t.Fatalf("rights = %q, want %q", strings.Join(got, " "), want)
	}
	for _, r := range AllRights() {
		if p, err := ParseRight(string(r)); err != nil || p != r {
			t.Errorf("ParseRight(%q) = %q, %v", r, p, err)
		}
	}
	if _, err := ParseRight("Lookup"); err == nil {
		t.Error("ParseRight is case-sensitive like the API enum")
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		preset Preset
		want   string
	}{
		{PresetReadOnly, "lookup read setSeen"},
		{PresetReadWrite, "lookup read insert write setSeen post delete"},
		{PresetEditor, "lookup read insert write setSeen post delete"},
		{PresetAuthor, "lookup read insert setSeen post"},
		{PresetFull, "lookup read insert write setSeen post create delete administer"},
		{PresetOwner, "lookup read insert write setSeen post create delete administer"},
	}
	for _, tt := range tests {
		got, err := Expand(tt.preset)
		if err != nil {
			t.Fatalf("Expand(%q): %v", tt.preset, err)
		}
		if s := join(got); s != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.preset, s, tt.want)
		}
	}
	if _, err := Expand("reviewer"); err == nil {
		t.Error("unknown preset accepted")
	}
	if len(Presets()) != len(tests) {
		t.Errorf("Presets() has %d entries, table %d", len(Presets()), len(tests))
	}
}

func TestResolve(t *testing.T) {
	got, err := Resolve(PresetReadOnly, []Right{Insert, Lookup, Administer})
	if err != nil {
		t.Fatal(err)
	}
	if s := join(got); s != "lookup read insert setSeen administer" {
		t.Errorf("Resolve = %q", s)
	}
	if _, err := Resolve("", []Right{"fly"}); err == nil {
		t.Error("unknown right accepted")
	}
	got, _ = Resolve("", nil)
	if len(got) != 0 {
		t.Errorf("Resolve of nothing = %v", got)
	}
}

func TestLetters(t *testing.T) {
	tests := []struct {
		name   string
		rights []Right
		server string
		want   string
	}{
		{"read-only dovecot", []Right{Lookup, Read, SetSeen}, dovecotRights, "lrs"},
		{"create dovecot", []Right{Create}, dovecotRights, "kx"},
		{"delete dovecot", []Right{Delete}, dovecotRights, "etx"},
		{"create delete cyrus", []Right{Delete, Create}, cyrusRights, "ektx"},
		{"all cyrus", AllRights(), cyrusRights, "aeiklprstwx"},
		{"all upper-case caps", AllRights(), "TEXK", "aeiklprstwx"},
		{"all rfc2086", AllRights(), rfc2086Rights, "acdilprsw"},
		{"create rfc2086", []Right{Create}, rfc2086Rights, "c"},
		{"delete rfc2086", []Right{Delete}, rfc2086Rights, "d"},
		{"partial rights= is rfc2086", []Right{Create, Delete}, "kx", "cd"},
		{"duplicates and order", []Right{Read, Lookup, Read, Post}, dovecotRights, "lpr"},
		{"unknown right ignored", []Right{"fly", Lookup}, dovecotRights, "l"},
		{"none", nil, dovecotRights, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Letters(tt.rights, tt.server); got != tt.want {
				t.Errorf("Letters = %q, want %q", got, tt.want)
			}
		})
	}
}

// FromLetters inverts Letters for every subset of the nine rights on every
// kind of server, including what the server reports back.
func TestFromLettersInvertsLetters(t *testing.T) {
	all := AllRights()
	for _, server := range []string{dovecotRights, cyrusRights, rfc2086Rights} {
		for mask := 0; mask < 1<<len(all); mask++ {
			var rs []Right
			for i, r := range all {
				if mask&(1<<i) != 0 {
					rs = append(rs, r)
				}
			}
			letters := Letters(rs, server)
			got := FromLetters(ParseLetters(letters))
			if join(got) != join(rs) {
				t.Fatalf("server %q: %q -> %q -> %q", server, join(rs), letters, join(got))
			}
			if !SetFor(rs, server).Equal(ParseLetters(letters)) {
				t.Fatalf("SetFor disagrees with Letters")
			}
		}
	}
}

func TestFromLettersForeignSets(t *testing.T) {
	tests := []struct {
		letters string
		want    string
	}{
		{"lrswipkxtecda", "lookup read insert write setSeen post create delete administer"}, // Cyrus owner
		{"lrswipkxtecdan", "lookup read insert write setSeen post create delete administer"},
		{"lr", "lookup read"},
		{"k", "create"},  // k alone still allows creating subfolders
		{"x", ""},        // x alone is neither create nor delete
		{"t", ""},        // t without e cannot delete anything for good
		{"te", "delete"}, // what Dovecot stores for "d"
		{"c", "create"},  // obsolete letters read back
		{"lrsd", "lookup read setSeen delete"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := join(FromLetters(ParseLetters(tt.letters))); got != tt.want {
			t.Errorf("FromLetters(%q) = %q, want %q", tt.letters, got, tt.want)
		}
	}
}

func TestParseLetters(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"rl", "lr"},
		{"llrr", "lr"},
		{"c", "kx"},
		{"d", "et"},
		{"cd", "ektx"},
		{"lrswipkxtecda", "aeiklprstwx"}, // Cyrus reports c and d beside k x t e
		{"lrwstipekxacd", "aeiklprstwx"}, // Dovecot order
		{"+lr", "lr"},
		{"-w", "w"},
		{"lr n", "lnr"},
		{"kxten0", "0ekntx"},
		{"LR", ""},
		// What Dovecot and Cyrus report after SETACL (the c/d beside real letters are informational).
		{"klrc", "klr"},        // after "lrk"
		{"xlrc", "lrx"},        // after "lrx"
		{"lrtd", "lrt"},        // after "lrt"
		{"elrd", "elr"},        // after "lre"
		{"kxelrtcd", "eklrtx"}, // Dovecot after "lrcd"
		{"lrkxtecd", "eklrtx"}, // Cyrus after "lrcd"
		{"xlrtcd", "lrtx"},     // after "lrxt"
		{"lrswipkxtecdan", "aeiklnprstwx"},
		{"xd", "etx"}, // d alone among t/e expands
	}
	for _, tt := range tests {
		got := ParseLetters(tt.in)
		if got.String() != tt.want {
			t.Errorf("ParseLetters(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSetOperations(t *testing.T) {
	a := ParseLetters("lrswipkxtea")
	b := ParseLetters("alxtkeiwpsrcd") // same rights reported differently
	if !a.Equal(b) || a != b {
		t.Fatalf("%q != %q", a, b)
	}
	if !a.Contains("lr") || !a.Contains("c") || !a.Contains("d") || a.Contains("n") {
		t.Error("Contains")
	}
	if !a.Has('c') || !a.Has('d') || ParseLetters("k").Has('c') || ParseLetters("t").Has('d') {
		t.Error("Has on virtual rights")
	}
	ro := ParseLetters("lrs")
	if got := a.Minus(ro).String(); got != "aeikptwx" {
		t.Errorf("Minus = %q", got)
	}
	if got := ro.Union(ParseLetters("i")).String(); got != "ilrs" {
		t.Errorf("Union = %q", got)
	}
	if got := a.Intersect(ParseLetters("lan")).String(); got != "al" {
		t.Errorf("Intersect = %q", got)
	}
	var zero Set
	if !zero.IsEmpty() || zero.Len() != 0 || !zero.Equal(ParseLetters("")) || !a.ContainsSet(zero) {
		t.Error("zero value")
	}
	m := map[Set]int{ParseLetters("rl"): 1}
	if m[ParseLetters("lr")] != 1 {
		t.Error("Set does not work as a map key")
	}
}

func TestIdentifiers(t *testing.T) {
	if got := GroupIdentifier("sales", FlavorDovecot); got != "group=sales" {
		t.Errorf("dovecot group = %q", got)
	}
	if got := GroupIdentifier("sales", "Dovecot"); got != "group=sales" {
		t.Errorf("flavor is case-insensitive: %q", got)
	}
	if got := GroupIdentifier("sales", FlavorCyrus); got != "group:sales" {
		t.Errorf("cyrus group = %q", got)
	}
	if !IsNegative("-bob") || IsNegative("bob") {
		t.Error("IsNegative")
	}
	if !IsGroup("group=x") || !IsGroup("-group:x") || IsGroup("bob") {
		t.Error("IsGroup")
	}
	tests := []struct {
		id, flavor string
		ok         bool
	}{
		{"anyone", FlavorCyrus, true},
		{"anyone", FlavorDovecot, true},
		{"authenticated", FlavorDovecot, true},
		{"authenticated", FlavorCyrus, false},
		{"group=sales", FlavorDovecot, true},
		{"group:sales", FlavorDovecot, false},
		{"group:sales", FlavorCyrus, true},
		{"group=sales", FlavorCyrus, false},
		{"-bob", FlavorCyrus, true},
		{"", FlavorCyrus, false},
		{"-", FlavorCyrus, false},
		{"bob smith", FlavorCyrus, false},
		{"bob\r\n", FlavorDovecot, false},
		{"bob@example.org", "", true},
	}
	for _, tt := range tests {
		err := ValidateIdentifier(tt.id, tt.flavor)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateIdentifier(%q, %q) = %v, want ok=%v", tt.id, tt.flavor, err, tt.ok)
		}
	}
}

func sets(kv ...string) map[string]Set {
	m := make(map[string]Set)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = ParseLetters(kv[i+1])
	}
	return m
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name            string
		desired, actual map[string]Set
		exact           bool
		wantSet         map[string]string
		wantRemove      []string
	}{
		{
			name:    "nothing to do when equal as sets",
			desired: sets("bob", "lrs"), actual: sets("alice", "lrswipkxtea", "bob", "slr"),
			exact: false,
		},
		{
			name:    "virtual letters compare equal",
			desired: sets("bob", "lrskxte"), actual: sets("bob", "lrscd"),
			exact: true,
		},
		{
			name:    "add and change",
			desired: sets("bob", "lrs", "carol", "lr"), actual: sets("bob", "lr"),
			wantSet: map[string]string{"bob": "lrs", "carol": "lr"},
		},
		{
			name:    "merge keeps others",
			desired: sets("bob", "lr"), actual: sets("alice", "lrswipkxtea", "carol", "lr"),
			wantSet: map[string]string{"bob": "lr"},
		},
		{
			name:    "exact removes others",
			desired: sets("alice", "lrswipkxtea", "bob", "lr"), actual: sets("alice", "lrswipkxtea", "carol", "lr", "anyone", "l"),
			exact:      true,
			wantSet:    map[string]string{"bob": "lr"},
			wantRemove: []string{"anyone", "carol"},
		},
		{
			name:    "exact leaves negative rights alone",
			desired: sets("bob", "lr"), actual: sets("bob", "lr", "-carol", "w"),
			exact: true,
		},
		{
			name:    "negative rights desired are managed",
			desired: sets("-carol", "wi"), actual: sets("-carol", "w"),
			exact:   true,
			wantSet: map[string]string{"-carol": "iw"},
		},
		{
			name:    "empty desired removes",
			desired: sets("bob", "", "carol", ""), actual: sets("bob", "lr"),
			wantRemove: []string{"bob"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, remove := Diff(tt.desired, tt.actual, tt.exact)
			got := map[string]string{}
			for k, v := range set {
				got[k] = v.String()
			}
			want := map[string]string{}
			for k, v := range tt.wantSet {
				want[k] = ParseLetters(v).String()
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("set = %v, want %v", got, want)
			}
			if len(remove) != 0 || len(tt.wantRemove) != 0 {
				if !reflect.DeepEqual(remove, tt.wantRemove) {
					t.Errorf("remove = %v, want %v", remove, tt.wantRemove)
				}
			}
		})
	}
}

func TestCheckOwner(t *testing.T) {
	owner := "alice"
	full := "lrswipkxtea"
	tests := []struct {
		name            string
		desired, actual map[string]Set
		exact           bool
		lockout         bool
		removed         bool
	}{
		{"untouched in merge mode", sets("bob", "lr"), sets(owner, full), false, false, false},
		{"removed in exact mode", sets("bob", "lr"), sets(owner, full), true, true, true},
		{"kept in exact mode", sets(owner, full, "bob", "lr"), sets(owner, full), true, false, false},
		{"reduced", sets(owner, "lrswipkxte"), sets(owner, full), false, true, false},
		{"drops lookup", sets(owner, "rswipkxtea"), sets(owner, full), false, true, false},
		{"reduced from partial", sets(owner, "lr"), sets(owner, "lra"), false, true, false},
		{"set empty", sets(owner, ""), sets(owner, full), false, true, true},
		{"grown", sets(owner, full+"n"), sets(owner, full), true, false, false},
		{"same with virtual letters", sets(owner, "lrswipcda"), sets(owner, full), true, false, false},
		{"no explicit entry", sets("bob", "lr"), sets("bob", "l"), true, false, false},
		{"no explicit entry, owner added", sets(owner, "lr"), sets(), true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckOwner(owner, tt.desired, tt.actual, tt.exact)
			var le *LockoutError
			if got := errors.As(err, &le); got != tt.lockout {
				t.Fatalf("lockout = %v (%v), want %v", got, err, tt.lockout)
			}
			if le != nil {
				if le.Removed != tt.removed || le.Owner != owner || le.Current != tt.actual[owner] {
					t.Errorf("LockoutError = %+v", le)
				}
				if !strings.Contains(le.Error(), owner) {
					t.Errorf("message %q does not name the owner", le.Error())
				}
			}
		})
	}
	if err := CheckOwner("", sets(), sets("x", "lr"), true); err != nil {
		t.Errorf("empty owner: %v", err)
	}
}

func join(rs []Right) string {
	var s []string
	for _, r := range rs {
		s = append(s, string(r))
	}
	return strings.Join(s, " ")
}

func FuzzParseLetters(f *testing.F) {
	for _, s := range []string{"", "lrswipkxtea", "cd", "lrswipcda", "+lr", "-bob", "kxten", "ééé", "\x00c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set := ParseLetters(s)
		out := set.String()
		// Canonical: sorted, unique, only lowercase letters and digits, no virtual rights.
		for i := 0; i < len(out); i++ {
			ch := out[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9') || ch == 'c' || ch == 'd' {
				t.Fatalf("ParseLetters(%q) = %q: bad letter %q", s, out, ch)
			}
			if i > 0 && out[i-1] >= ch {
				t.Fatalf("ParseLetters(%q) = %q: not sorted and unique", s, out)
			}
		}
		// Idempotent, and a parse of its own output.
		if again := ParseLetters(out); again != set {
			t.Fatalf("ParseLetters not idempotent: %q -> %q -> %q", s, out, again)
		}
		// Every real letter of the input is in the set; c and d are expanded
		// unless the letters they stand for are reported beside them.
		for i := 0; i < len(s); i++ {
			ch := s[i]
			if ch == 'c' || ch == 'd' || !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9') {
				continue
			}
			if !set.Has(ch) {
				t.Fatalf("ParseLetters(%q) lost %q", s, ch)
			}
		}
		if strings.ContainsRune(s, 'c') && !strings.ContainsAny(s, "kx") && !set.Has('c') {
			t.Fatalf("ParseLetters(%q) = %q: c not expanded", s, out)
		}
		if strings.ContainsRune(s, 'd') && !strings.ContainsAny(s, "te") && !set.Has('d') {
			t.Fatalf("ParseLetters(%q) = %q: d not expanded", s, out)
		}
		// What a server reports back (c beside k/x, d beside t/e) parses to the same set.
		reported := out
		if set.Has('k') || set.Has('x') {
			reported += "c"
		}
		if set.Has('t') || set.Has('e') {
			reported += "d"
		}
		if ParseLetters(reported) != set {
			t.Fatalf("server-style report %q of %q parses to %q", reported, out, ParseLetters(reported))
		}
		// Order does not matter.
		rev := []byte(s)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		if ParseLetters(string(rev)) != set {
			t.Fatalf("order changed the set for %q", s)
		}
		// Named rights read back from the set re-encode to a subset of it.
		if got := SetFor(FromLetters(set), cyrusRights); !set.ContainsSet(got.Minus(ParseLetters("x"))) {
			t.Fatalf("FromLetters(%q) re-encodes to %q, outside the set", out, got)
		}
	})
}

func TestWire(t *testing.T) {
	tests := []struct {
		set, server, want string
	}{
		{"lrswipkxtea", dovecotRights, "aeiklprstwx"},
		{"lrswipkxtea", cyrusRights, "aeiklprstwx"},
		{"lrswipkxtea", rfc2086Rights, "acdilprsw"},
		{"lrk", rfc2086Rights, "clr"},
		{"lrt", rfc2086Rights, "dlr"},
		{"", rfc2086Rights, ""},
	}
	for _, tt := range tests {
		if got := ParseLetters(tt.set).Wire(tt.server); got != tt.want {
			t.Errorf("Wire(%q, %q) = %q, want %q", tt.set, tt.server, got, tt.want)
		}
	}
	// Letters and Wire agree for named rights.
	for _, server := range []string{dovecotRights, rfc2086Rights} {
		if got, want := SetFor(AllRights(), server).Wire(server), Letters(AllRights(), server); got != want {
			t.Errorf("server %q: Wire %q, Letters %q", server, got, want)
		}
	}
}
