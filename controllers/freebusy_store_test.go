package controllers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// strandedPublication creates a FreeBusyPublication with serveHTTP in ns whose FTP Secret does not exist:
// the test manager stalls it (SecretNotFound) before it reads a calendar or touches its served files, so
// a test can keep files for it directly.
func strandedPublication(t *testing.T, ns, name string) *mailshiftv1.FreeBusyPublication {
	t.Helper()
	fb := &mailshiftv1.FreeBusyPublication{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: mailshiftv1.FreeBusyPublicationSpec{
			MailboxRef: mailshiftv1.LocalObjectRef{Name: "nobody"},
			FTP: mailshiftv1.FTPTarget{Host: "127.0.0.1", Port: 21, TLS: mailshiftv1.FTPExplicitTLS,
				CredentialsSecretRef: mailshiftv1.CredentialsSecretRef{Name: "absent"}},
			ServeHTTP: true,
		},
	}
	mustCreate(t, fb)
	return fb
}

// putFile keeps data as fb's file of that name with the test manager's files.
func putFile(t *testing.T, fb *mailshiftv1.FreeBusyPublication, name string, data []byte) {
	t.Helper()
	if err := fbFiles.Put(context.Background(), fb, name, data, time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("Put %s: %v", name, err)
	}
}

// httpGet asks files' handler for path with the given request headers.
func httpGet(files *FreeBusyFiles, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	files.ServeHTTP(rec, req)
	return rec
}

// waitServed waits until files serve path with the body want (the cache follows the API server).
func waitServed(t testing.TB, files *FreeBusyFiles, path string, want []byte) *httptest.ResponseRecorder {
	t.Helper()
	var rec *httptest.ResponseRecorder
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if rec = httpGet(files, path); rec.Code == http.StatusOK && bytes.Equal(rec.Body.Bytes(), want) {
			return rec
		}
	}
	t.Fatalf("GET %s: %d, %d bytes; want %d bytes", path, rec.Code, rec.Body.Len(), len(want))
	return nil
}

// waitGone waits until files answer path with 404.
func waitGone(t *testing.T, files *FreeBusyFiles, path string) {
	t.Helper()
	var rec *httptest.ResponseRecorder
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if rec = httpGet(files, path); rec.Code == http.StatusNotFound {
			return
		}
	}
	t.Fatalf("GET %s: %d, want 404", path, rec.Code)
}

// servedConfigMaps lists the ConfigMaps holding fb's files.
func servedConfigMaps(t *testing.T, fb *mailshiftv1.FreeBusyPublication) []corev1.ConfigMap {
	t.Helper()
	var list corev1.ConfigMapList
	if err := k8s.List(context.Background(), &list, client.InNamespace(fb.Namespace), client.MatchingLabels{freeBusyLabelOwner: string(fb.UID)}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// TestFreeBusyFileSizeBound: a file of exactly the bound is kept by the real API server and served byte for
// byte; one byte more is refused with FileTooLarge and a message that says what to do, nothing of it is
// kept, and the copy served until then stops being served (an outdated file must not pass for the current
// one). A file that is not UTF-8 is served unchanged too.
func TestFreeBusyFileSizeBound(t *testing.T) {
	ns := newNamespace(t)
	fb := strandedPublication(t, ns, "big")
	body := bytes.Repeat([]byte("FREEBUSY:20260401T100000Z/20260401T110000Z\r\n"), MaxServedFreeBusyBytes/44+1)[:MaxServedFreeBusyBytes]
	putFile(t, fb, "big", body)
	waitServed(t, fbFiles, "/freebusy/"+ns+"/big.vfb", body)

	over := append(bytes.Clone(body), 'x')
	err := fbFiles.Put(context.Background(), fb, "bigger", over, time.Now())
	var re *refError
	if !errors.As(err, &re) || re.reason != mailshiftv1.ReasonFileTooLarge || !re.stalled ||
		!strings.Contains(re.message, "1048577 bytes") || !strings.Contains(re.message, "spec.window") {
		t.Fatalf("a file one byte over the bound: %v", err)
	}
	if cms := servedConfigMaps(t, fb); len(cms) != 0 {
		t.Errorf("after the refusal %d ConfigMaps, want none", len(cms))
	}
	waitGone(t, fbFiles, "/freebusy/"+ns+"/big.vfb")
	waitGone(t, fbFiles, "/freebusy/"+ns+"/bigger.vfb")
	// Back under the bound, the file is served again.
	putFile(t, fb, "big", body[:1000])
	waitServed(t, fbFiles, "/freebusy/"+ns+"/big.vfb", body[:1000])

	binary := []byte("BEGIN:VCALENDAR\r\nX-BYTES:\xff\xfe\x00\r\nEND:VCALENDAR\r\n")
	bin := strandedPublication(t, ns, "binary")
	putFile(t, bin, "binary", binary)
	waitServed(t, fbFiles, "/freebusy/"+ns+"/binary.vfb", binary)
}

// TestFreeBusyFileTenants: a file is served only at its own namespace's path; the same name in another
// namespace is another file; a second publication of a namespace cannot take a name; a ConfigMap made to
// look like a served file, but not controlled by a FreeBusyPublication with serveHTTP, is not served; the
// short global path serves only the namespace an administrator named.
func TestFreeBusyFileTenants(t *testing.T) {
	corp, tenant := newNamespace(t), newNamespace(t)
	ceo := strandedPublication(t, corp, "ceo")
	putFile(t, ceo, "ceo", []byte("X-FROM:corp"))
	waitServed(t, fbFiles, "/freebusy/"+corp+"/ceo.vfb", []byte("X-FROM:corp"))
	waitGone(t, fbFiles, "/freebusy/"+tenant+"/ceo.vfb")

	theirs := strandedPublication(t, tenant, "ceo")
	putFile(t, theirs, "ceo", []byte("X-FROM:tenant"))
	waitServed(t, fbFiles, "/freebusy/"+tenant+"/ceo.vfb", []byte("X-FROM:tenant"))
	waitServed(t, fbFiles, "/freebusy/"+corp+"/ceo.vfb", []byte("X-FROM:corp"))

	// A second publication of corp claiming the name is refused at the API server, not allowed to shadow.
	shadow := strandedPublication(t, corp, "shadow")
	err := fbFiles.Put(context.Background(), shadow, "ceo", []byte("X-FROM:shadow"), time.Now())
	var re *refError
	if !errors.As(err, &re) || re.reason != mailshiftv1.ReasonNameConflict || !strings.Contains(re.message, corp+"/ceo") {
		t.Fatalf("a second publication of the same name: %v, want NameConflict naming %s/ceo", err, corp)
	}
	if err := fbFiles.Conflict(context.Background(), shadow, "ceo"); err == nil {
		t.Error("Conflict does not see the name taken")
	}
	waitServed(t, fbFiles, "/freebusy/"+corp+"/ceo.vfb", []byte("X-FROM:corp"))

	// Someone who may write ConfigMaps in tenant, but whose object no FreeBusyPublication controls.
	forged := freeBusyConfigMap(theirs, "forged", []byte("X-FROM:forger"), time.Now())
	forged.OwnerReferences = nil
	mustCreate(t, forged)
	// Controlled by a publication that does not serve over HTTP.
	quiet := strandedPublication(t, tenant, "quiet")
	mutate(t, quiet, func(f *mailshiftv1.FreeBusyPublication) { f.Spec.ServeHTTP = false })
	mustCreate(t, freeBusyConfigMap(quiet, "quiet", []byte("X-FROM:quiet"), time.Now()))
	// A reference, for the cache to have caught up with both.
	mustCreate(t, freeBusyConfigMap(theirs, "marker", []byte("X-FROM:marker"), time.Now()))
	waitServed(t, fbFiles, "/freebusy/"+tenant+"/marker.vfb", []byte("X-FROM:marker"))
	for _, p := range []string{"/freebusy/" + tenant + "/forged.vfb", "/freebusy/" + tenant + "/quiet.vfb"} {
		if rec := httpGet(fbFiles, p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d %q, want 404", p, rec.Code, rec.Body.String())
		}
	}

	// The global path: nothing unless an administrator names a namespace, then that namespace's only.
	if rec := httpGet(fbFiles, "/freebusy/ceo.vfb"); rec.Code != http.StatusNotFound {
		t.Errorf("the global path with no global namespace: %d", rec.Code)
	}
	global := *fbFiles
	global.GlobalNamespace = corp
	if p := global.HTTPPath(corp, "ceo"); p != "/freebusy/ceo.vfb" {
		t.Errorf("HTTPPath in the global namespace = %s", p)
	}
	if p := global.HTTPPath(tenant, "ceo"); p != "/freebusy/"+tenant+"/ceo.vfb" {
		t.Errorf("HTTPPath in another namespace = %s", p)
	}
	waitServed(t, &global, "/freebusy/ceo.vfb", []byte("X-FROM:corp"))
	if err := fbFiles.Remove(context.Background(), ceo); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &global, "/freebusy/ceo.vfb") // tenant's file must not take its place
	waitServed(t, fbFiles, "/freebusy/"+tenant+"/ceo.vfb", []byte("X-FROM:tenant"))
}

// TestFreeBusyFileRenameAndPolling: a publication renamed keeps one ConfigMap, and the old path stops
// being served; a poll with the ETag or the Last-Modified it was given gets 304 without a body, and a
// changed file a new ETag and 200; an unchanged file is not written again.
func TestFreeBusyFileRenameAndPolling(t *testing.T) {
	ns := newNamespace(t)
	fb := strandedPublication(t, ns, "alice-fb")
	putFile(t, fb, "alice", []byte("X-V:1"))
	first := waitServed(t, fbFiles, "/freebusy/"+ns+"/alice.vfb", []byte("X-V:1"))
	etag, modified := first.Header().Get("ETag"), first.Header().Get("Last-Modified")
	if etag == "" || modified != "Fri, 20 Mar 2026 10:00:00 GMT" {
		t.Fatalf("ETag %q, Last-Modified %q", etag, modified)
	}
	if rec := httpGet(fbFiles, "/freebusy/"+ns+"/alice.vfb", "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match with the current ETag: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := httpGet(fbFiles, "/freebusy/"+ns+"/alice.vfb", "If-Modified-Since", modified); rec.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since the Last-Modified: %d", rec.Code)
	}

	before := servedConfigMaps(t, fb)
	putFile(t, fb, "alice", []byte("X-V:1")) // the same content again
	if after := servedConfigMaps(t, fb); len(after) != 1 || after[0].ResourceVersion != before[0].ResourceVersion {
		t.Errorf("an unchanged file was written again")
	}

	putFile(t, fb, "alice", []byte("X-V:2"))
	second := waitServed(t, fbFiles, "/freebusy/"+ns+"/alice.vfb", []byte("X-V:2"))
	if second.Header().Get("ETag") == etag {
		t.Error("a changed file kept its ETag")
	}
	if rec := httpGet(fbFiles, "/freebusy/"+ns+"/alice.vfb", "If-None-Match", etag); rec.Code != http.StatusOK {
		t.Errorf("If-None-Match with the old ETag: %d, want 200", rec.Code)
	}

	putFile(t, fb, "alice.smith", []byte("X-V:3"))
	waitServed(t, fbFiles, "/freebusy/"+ns+"/alice.smith.vfb", []byte("X-V:3"))
	waitGone(t, fbFiles, "/freebusy/"+ns+"/alice.vfb")
	if cms := servedConfigMaps(t, fb); len(cms) != 1 || cms[0].Annotations[freeBusyAnnotationName] != "alice.smith" {
		t.Errorf("after the rename: %d ConfigMaps", len(cms))
	}
	cm := servedConfigMaps(t, fb)[0]
	if owner := metav1.GetControllerOf(&cm); owner == nil || owner.UID != fb.UID {
		t.Errorf("the ConfigMap is not controlled by its publication: %+v", cm.OwnerReferences)
	}
	if err := fbFiles.Remove(context.Background(), fb); err != nil {
		t.Fatal(err)
	}
	waitGone(t, fbFiles, "/freebusy/"+ns+"/alice.smith.vfb")
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(&cm), &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ConfigMap after Remove: %v", err)
	}
}

// TestFreeBusyConfigMapNames: every served name gets its own valid object name, also names that differ
// only in case or in characters an object name cannot hold.
func TestFreeBusyConfigMapNames(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"alice", "Alice", "a+b", "a_b", "a-b", "a.b", "...", "+", strings.Repeat("x", 253)} {
		cm := freeBusyConfigMapName(name)
		if errs := validation.IsDNS1123Subdomain(cm); len(errs) > 0 {
			t.Errorf("%q -> %q: %s", name, cm, strings.Join(errs, "; "))
		}
		if other, ok := seen[cm]; ok {
			t.Errorf("%q and %q share %s", name, other, cm)
		}
		seen[cm] = name
	}
	if got := freeBusyConfigMapName("alice"); !strings.HasPrefix(got, "freebusy-alice-") {
		t.Errorf("alice -> %s, want it readable", got)
	}
}

// BenchmarkFreeBusyServe is one Outlook poll answered from the test manager's informer cache: a 200 with a
// 10 KiB file (about 180 busy periods), and a 304 for a poll whose ETag still holds.
func BenchmarkFreeBusyServe(b *testing.B) {
	const ns = "bench-freebusy"
	if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatal(err)
	}
	fb := &mailshiftv1.FreeBusyPublication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "bench-"}, Spec: mailshiftv1.FreeBusyPublicationSpec{
		MailboxRef: mailshiftv1.LocalObjectRef{Name: "nobody"}, ServeHTTP: true,
		FTP: mailshiftv1.FTPTarget{Host: "127.0.0.1", CredentialsSecretRef: mailshiftv1.CredentialsSecretRef{Name: "absent"}}}}
	if err := k8s.Create(context.Background(), fb); err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("FREEBUSY:20260401T100000Z/20260401T110000Z\r\n"), 10<<10/44)
	if err := fbFiles.Put(context.Background(), fb, fb.Name, body, time.Now()); err != nil {
		b.Fatal(err)
	}
	path := "/freebusy/" + ns + "/" + fb.Name + ".vfb"
	first := waitServed(b, fbFiles, path, body)
	etag := first.Header().Get("ETag")
	b.Run("200", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rec := httpGet(fbFiles, path); rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
	b.Run("304", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rec := httpGet(fbFiles, path, "If-None-Match", etag); rec.Code != http.StatusNotModified {
				b.Fatal(rec.Code)
			}
		}
	})
}
