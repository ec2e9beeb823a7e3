package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"
)

// cmdAdmin sends raw IMAP commands after a LOGIN, one after the other; each must answer OK. The benchmark
// makes Cyrus accounts fresh with it (DELETE user/bob, CREATE user/bob, SETQUOTA ...), which only an admin
// can.
func cmdAdmin(args []string) error {
	fs := flag.NewFlagSet("admin", flag.ExitOnError)
	a := accountFlags(fs)
	_ = fs.Parse(args) // ExitOnError: a bad flag exits
	if fs.NArg() == 0 {
		return errors.New("no command")
	}
	c, err := net.DialTimeout("tcp", a.addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	// A line longer than this is not an answer to one of these commands.
	r := bufio.NewReaderSize(c, 64<<10)
	readLine := func() (string, error) {
		c.SetReadDeadline(time.Now().Add(2 * time.Minute))
		line, prefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		if prefix {
			return "", errors.New("answer line too long")
		}
		return string(line), nil
	}
	if _, err := readLine(); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	cmds := append([]string{fmt.Sprintf("LOGIN %q %q", a.user, a.pass)}, fs.Args()...)
	cmds = append(cmds, "LOGOUT")
	for i, cmd := range cmds {
		tag := fmt.Sprintf("a%d", i)
		if _, err := fmt.Fprintf(c, "%s %s\r\n", tag, cmd); err != nil {
			return err
		}
		for {
			line, err := readLine()
			if err != nil {
				return fmt.Errorf("%s: %w", strings.Fields(cmd)[0], err)
			}
			if rest, ok := strings.CutPrefix(line, tag+" "); ok {
				if !strings.HasPrefix(rest, "OK") {
					if i == 0 {
						return fmt.Errorf("LOGIN: %s", rest)
					}
					return fmt.Errorf("%s: %s", cmd, rest)
				}
				break
			}
		}
	}
	return nil
}
