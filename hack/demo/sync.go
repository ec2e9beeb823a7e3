package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// demoContact is the contact alice adds to her address book: a vCard message, as a client stores it.
const demoContact = "From: alice@example.test\r\nSubject: Dana Demo\r\nMessage-ID: <dana-demo@example.test>\r\n" +
	"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/vcard; charset=utf-8\r\n\r\n" +
	"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:dana-demo-1\r\nFN:Dana Demo\r\nN:Demo;Dana;;;\r\nEMAIL:dana@example.test\r\nEND:VCARD\r\n"

// syncDemo adds a contact to alice's address book, asks the SyncPolicy for a cycle now, and shows the
// contact in bob's address book.
func syncDemo(kubectl func(...string) error, kcPath string, caPEM []byte) error {
	step("keeping address books in step: alice adds a contact, `sync-now` runs the SyncPolicy's cycle at once")
	folderOf := func(mailbox string) (string, error) {
		out, err := kubectlCommand(kcPath, "get", "mailbox", mailbox, "-o",
			`jsonpath={.status.specialFolders[?(@.type=="Contacts")].mailbox}`).Output()
		if err != nil || len(bytes.TrimSpace(out)) == 0 {
			return "", fmt.Errorf("%s's Contacts folder: %v", mailbox, err)
		}
		return string(bytes.TrimSpace(out)), nil
	}
	aliceContacts, err := folderOf("alice")
	if err != nil {
		return err
	}
	bobContacts, err := folderOf("bob")
	if err != nil {
		return err
	}
	alice, err := demoLogin(caPEM, "alice", "alice-secret-1")
	if err != nil {
		return err
	}
	defer alice.Close()
	cmd := alice.Append(aliceContacts, int64(len(demoContact)), nil)
	if _, err := cmd.Write([]byte(demoContact)); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("alice stores a contact in %s: %w", aliceContacts, err)
	}
	fmt.Printf("    alice: APPEND to %s: the vCard of Dana Demo (UID dana-demo-1)\n", aliceContacts)

	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	if err := kubectl("annotate", "--overwrite", "syncpolicy/alice-contacts-with-bob", "mailshift.io/sync-now="+stamp); err != nil {
		return err
	}
	if err := kubectl("wait", "--timeout=60s", "--for=jsonpath={.status.lastSyncNow}="+stamp, "syncpolicy/alice-contacts-with-bob"); err != nil {
		return err
	}
	if err := kubectl("get", "syncpolicy", "alice-contacts-with-bob", "-o",
		`jsonpath=last cycle: {.status.lastCycle.toTarget.added} added to bob, {.status.lastCycle.toSource.added} to alice, {.status.lastCycle.conflicts} conflicts; next at {.status.nextSyncTime}{"\n"}`); err != nil {
		return err
	}

	bob, err := demoLogin(caPEM, "bob", "bob-secret-2")
	if err != nil {
		return err
	}
	defer bob.Close()
	if _, err := bob.Select(bobContacts, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return fmt.Errorf("bob opens %s: %w", bobContacts, err)
	}
	found, err := bob.UIDSearch(&imap.SearchCriteria{Body: []string{"UID:dana-demo-1"}}, nil).Wait()
	if err != nil {
		return err
	}
	if len(found.AllUIDs()) != 1 {
		return fmt.Errorf("bob's %s holds %d copies of Dana Demo, want 1", bobContacts, len(found.AllUIDs()))
	}
	fmt.Printf("    bob: %s holds Dana Demo (UID %v)\n", bobContacts, found.AllUIDs()[0])
	return nil
}

// demoLogin logs in to the demo's Dovecot over STARTTLS.
func demoLogin(caPEM []byte, user, password string) (*imapclient.Client, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c, err := imapclient.DialStartTLS(fmt.Sprintf("127.0.0.1:%d", imapPort),
		&imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s logs in: %w", user, err)
	}
	return c, nil
}
