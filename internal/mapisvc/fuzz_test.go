package mapisvc

import (
	"bytes"
	"testing"
)

// FuzzAddRemove checks on any file: adding is idempotent, what MAPI reads after Add is the fragment, Remove
// takes every trace of the service out and is idempotent, and a file without the service comes back from
// Add and Remove byte for byte.
func FuzzAddRemove(f *testing.F) {
	for _, seed := range []string{
		"", "\r\n", outlookINF, "[Services]", "[Services]\nA=x\r\nB=y\r", "A\r", "[X]\r\n[Services]\r\n",
		"[MAILSHIFT]\r\nX=1\r\n[Services]\r\nMAILSHIFT=a\r\n", "  [ services ]  \r\n A = x \r\n; c\r\n",
		"[Services]\r\n[Services]\r\nmailshift=\r\n[mailshift]",
	} {
		f.Add([]byte(seed))
	}
	frag := Fragment{DLLPath: testDLL}
	f.Fuzz(func(t *testing.T, file []byte) {
		added, err := Add(file, frag)
		if err != nil {
			if checkFile(file) == nil {
				t.Fatalf("Add refused a file it accepts: %v", err)
			}
			return
		}
		if again, _ := Add(added, frag); !bytes.Equal(again, added) {
			t.Fatalf("adding twice:\n%q\nonce:\n%q", again, added)
		}
		checkReadsOurs(t, string(added))
		removed, err := Remove(added)
		if err != nil {
			t.Fatal(err)
		}
		if hasOurs(removed) {
			t.Fatalf("Remove left the service in\n%q", removed)
		}
		if again, _ := Remove(removed); !bytes.Equal(again, removed) {
			t.Fatalf("removing twice:\n%q\nonce:\n%q", again, removed)
		}
		if !hasOurs(file) && !bytes.Equal(removed, file) {
			t.Fatalf("Remove(Add(%q)) = %q\nAdd gave %q", file, removed, added)
		}
	})
}

// hasOurs reports whether the file has a section of the service or its entry in a [Services] section.
func hasOurs(file []byte) bool {
	lines := splitLines(file)
	return len(sectionsNamed(lines, "MAILSHIFT")) > 0 || len(serviceEntries(lines)) > 0
}
