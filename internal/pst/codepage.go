package pst

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/mailshift/mailshift/internal/codepage"
	"github.com/mailshift/mailshift/internal/pst/ltp"
	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// More property IDs that tell a code page ([MS-OXPROPS]).
const (
	propMessageLocaleID = 0x3FF1 // PR_MESSAGE_LOCALE_ID: the locale of the client that wrote the item
	propLocaleID        = 0x66A1 // PR_LOCALE_ID
)

// Limits of code page detection: it reads the folder hierarchy and a sample of items, never the whole file.
const (
	detectMaxFolders  = 2000
	detectMaxMessages = 300
	detectMaxSample   = 4096     // bytes of one string kept as a sample
	detectMaxSamples  = 64 << 10 // bytes of samples in all
)

// How the file's code page was found (CodePageChoice.Source).
const (
	CodePageExplicit = "explicit" // File.DefaultCodePage, set by the caller
	CodePageStore    = "store"    // the message store's properties
	CodePageFolders  = "folders"  // the folders' properties
	CodePageMessages = "messages" // the items' properties
	CodePageBytes    = "bytes"    // guessed from the bytes of names and subjects
	CodePageDefault  = "default"  // nothing said otherwise: Windows-1252
)

// CodePageChoice is the code page that decodes the 8-bit (ANSI) strings of the file that carry no code page
// of their own (folder names, the store's name, items without PR_MESSAGE_CODEPAGE or PR_INTERNET_CPID),
// and how it was found, so that tools can say it.
type CodePageChoice struct {
	CodePage int    `json:"codePage"`
	Source   string `json:"source"`
	Detail   string `json:"detail"`
}

// CodePage returns the code page the file's ANSI strings are decoded in, and why. In order: the caller's
// File.DefaultCodePage; the store's PR_MESSAGE_CODEPAGE, PR_CODE_PAGE_ID or locale; a code page property
// of the folders; what the items' PR_MESSAGE_CODEPAGE, PR_MESSAGE_LOCALE_ID and PR_INTERNET_CPID say by
// majority, when the folder names are valid text in it; a guess from the bytes of folder names and subjects
// when they are not plausible Windows-1252; else Windows-1252. Outlook 97-2002 files written on a Japanese,
// Chinese, Korean or Cyrillic Windows often record no code page in the store at all.
func (f *File) CodePage() (CodePageChoice, error) {
	if _, err := f.Store(); err != nil {
		return CodePageChoice{}, err
	}
	return f.cpChoice, nil
}

// detectCodePage finds the file's code page. It runs once, while the store is read, and so reads the
// hierarchy through the layers below: nothing it calls may decode a string with the file's code page.
func (f *File) detectCodePage(s *Store, pc *ltp.PropertyContext) (choice CodePageChoice) {
	if f.DefaultCodePage != 0 {
		return CodePageChoice{CodePage: f.DefaultCodePage, Source: CodePageExplicit, Detail: "set by the caller"}
	}
	if s.CodePage != 0 {
		return CodePageChoice{CodePage: s.CodePage, Source: CodePageStore, Detail: "the message store's PR_MESSAGE_CODEPAGE or PR_CODE_PAGE_ID"}
	}
	for _, id := range []uint16{propMessageLocaleID, propLocaleID} {
		if v, ok := pc.Get(id); ok {
			if cp := codepage.FromLocale(int(intValue(v))); cp != 0 && codepage.Encoding(cp) != nil {
				return CodePageChoice{CodePage: cp, Source: CodePageStore, Detail: fmt.Sprintf("the message store's locale %#04x", intValue(v))}
			}
		}
	}
	fallback := CodePageChoice{CodePage: defaultCodePage, Source: CodePageDefault, Detail: "no code page recorded; names and subjects read as Windows-1252"}
	defer func() {
		// Detection is a best effort over a file that may be damaged: it never fails the open.
		if r := recover(); r != nil {
			choice = fallback
		}
	}()
	sc := &sampler{f: f, votes: map[int]int{}}
	if v, ok := pc.Get(propDisplayName); ok {
		sc.addString(v)
	}
	sc.walk(s.ipmSubtree)
	if sc.folderCP != 0 {
		return CodePageChoice{CodePage: sc.folderCP, Source: CodePageFolders, Detail: "a folder's PR_MESSAGE_CODEPAGE"}
	}
	guess, guessed := codepage.Guess(sc.samples)
	if cp, n := sc.majority(); cp != 0 && codepage.Decodes(sc.samples, cp) && !(cp == defaultCodePage && guessed && guess != cp) {
		// Items' properties speak of the items, often of mail received from elsewhere; they decide unless
		// they say 1252 and the names the user wrote are not plausible 1252.
		return CodePageChoice{CodePage: cp, Source: CodePageMessages,
			Detail: fmt.Sprintf("the code page or locale properties of %d of %d items read", n, sc.messages)}
	}
	if !guessed {
		return fallback
	}
	if guess == defaultCodePage {
		fallback.Detail = "no code page recorded; names and subjects are plausible Windows-1252"
		return fallback
	}
	why := "no code page recorded"
	if voted, _ := sc.majority(); voted != 0 {
		why = fmt.Sprintf("the items' properties say %d", voted)
	}
	return CodePageChoice{CodePage: guess, Source: CodePageBytes,
		Detail: fmt.Sprintf("%s, but the bytes of folder names and subjects are not plausible Windows-1252; they read as code page %d", why, guess)}
}

// sampler collects what the hierarchy says about its code page: the raw 8-bit names and subjects, and
// the items' votes.
type sampler struct {
	f        *File
	samples  [][]byte
	size     int
	folders  int
	messages int
	votes    map[int]int // code page → weight
	voters   map[int]int // code page → items voting for it
	folderCP int
}

func (sc *sampler) addString(v ltp.Value) {
	if v.Type != ltp.PtypString8 || sc.size >= detectMaxSamples {
		return
	}
	if n, err := v.Size(); err != nil || n > detectMaxSample {
		return
	}
	b, err := v.Bytes()
	if err != nil {
		return
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) >= 2 && b[0] == 0x01 {
		b = b[2:] // a subject's prefix marker
	}
	if len(b) == 0 {
		return
	}
	sc.samples = append(sc.samples, b)
	sc.size += len(b)
}

func (sc *sampler) walk(root ndb.NID) {
	queue := []ndb.NID{root}
	seen := map[ndb.NID]bool{}
	for len(queue) > 0 && sc.folders < detectMaxFolders {
		nid := queue[0]
		queue = queue[1:]
		if seen[nid] || nid.Type() != ndb.NIDTypeNormalFolder {
			continue
		}
		seen[nid] = true
		sc.folders++
		n, err := sc.f.db.Node(nid)
		if err != nil {
			continue
		}
		pc, err := ltp.OpenPC(n)
		if err != nil {
			continue
		}
		if nid != root {
			if v, ok := pc.Get(propDisplayName); ok {
				sc.addString(v)
			}
		}
		if v, ok := pc.Get(propMessageCodePage); ok && sc.folderCP == 0 {
			if cp := int(intValue(v)); cp > 0 && codepage.Encoding(cp) != nil {
				sc.folderCP = cp
			}
		}
		fo := &Folder{NID: nid, f: sc.f}
		if subs, err := fo.rowIDs(ndb.NIDTypeHierarchyTable); err == nil {
			queue = append(queue, subs[:min(len(subs), max(0, detectMaxFolders-sc.folders-len(queue)))]...)
		}
		if sc.messages < detectMaxMessages {
			if ids, err := fo.rowIDs(ndb.NIDTypeContentsTable); err == nil {
				for _, id := range ids {
					if sc.messages >= detectMaxMessages {
						break
					}
					sc.message(id)
				}
			}
		}
	}
}

// message reads one item's votes: its own code page and its writer's locale count twice, the charset it
// travelled in once. An item with a code page of its own decodes its strings with it; only the subjects of
// the others are samples.
func (sc *sampler) message(nid ndb.NID) {
	n, err := sc.f.db.Node(nid)
	if err != nil {
		return
	}
	pc, err := ltp.OpenPC(n)
	if err != nil {
		return
	}
	sc.messages++
	voted := map[int]bool{}
	vote := func(cp, weight int) {
		if cp <= 0 || codepage.Encoding(cp) == nil {
			return
		}
		if cp == 20127 || cp == 28591 {
			cp = defaultCodePage
		}
		sc.votes[cp] += weight
		if !voted[cp] {
			voted[cp] = true
			if sc.voters == nil {
				sc.voters = map[int]int{}
			}
			sc.voters[cp]++
		}
	}
	own := false
	if v, ok := pc.Get(propMessageCodePage); ok {
		vote(int(intValue(v)), 2)
		own = true
	}
	if v, ok := pc.Get(propMessageLocaleID); ok {
		vote(codepage.FromLocale(int(intValue(v))), 2)
	}
	if v, ok := pc.Get(propInternetCPID); ok {
		cp := ansiCodePage(int(intValue(v)))
		vote(cp, 1)
		own = own || cp > 0
	}
	if !own {
		if v, ok := pc.Get(propSubject); ok {
			sc.addString(v)
		}
	}
}

// majority is the code page with the most weight, and how many items voted for it.
func (sc *sampler) majority() (cp, items int) {
	cps := make([]int, 0, len(sc.votes))
	for c := range sc.votes {
		cps = append(cps, c)
	}
	sort.Ints(cps)
	best := 0
	for _, c := range cps {
		if sc.votes[c] > best {
			cp, best = c, sc.votes[c]
		}
	}
	return cp, sc.voters[cp]
}
