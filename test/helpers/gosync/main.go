// SPDX-License-Identifier: LGPL-2.1-or-later
// Copyright (C) 2026 The stickysync authors

// gosync: the syncs of the supervisor's tests, in Go, whose system calls
// never pass through libc.  Each result is one line, "WHAT ok" or
// "WHAT ERRNO-NAME".
//
//	gosync seq FILE MIB   write MIB MiB (0: 4 KiB), then: Sync, Sync again,
//	                      8 goroutines Sync at once, a reopened file's Sync,
//	                      Sync of the fd inherited by a child process
//	gosync one FILE       open, write 4 KiB, Sync
//	gosync child          (internal) Sync fd 3
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
)

func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EIO:
			return "EIO"
		case syscall.ENOSPC:
			return "ENOSPC"
		case syscall.EINTR:
			return "EINTR"
		case syscall.ENOSYS:
			return "ENOSYS"
		case syscall.EBADF:
			return "EBADF"
		}
		return fmt.Sprintf("errno%d", int(errno))
	}
	return err.Error()
}

func say(what string, err error) {
	fmt.Printf("%s %s\n", what, errName(err))
}

func open(path string) *os.File {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return f
}

func write(f *os.File, mib int) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = 'G'
	}
	if mib == 0 {
		buf = buf[:4096]
		mib = 1
	}
	for i := 0; i < mib; i++ {
		if _, err := f.Write(buf); err != nil {
			say("write", err)
			return
		}
	}
}

func seq(path string, mib int) {
	f := open(path)
	write(f, mib)
	say("sync", f.Sync())
	say("sync-again", f.Sync())

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = f.Sync()
		}(i)
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	fmt.Printf("goroutines %d/8 %s\n", failed, errName(errs[0]))

	g := open(path)
	say("reopened-sync", g.Sync())
	g.Close()

	child := exec.Command(os.Args[0], "child")
	child.ExtraFiles = []*os.File{f}
	child.Stdout = os.Stdout
	child.Stderr = os.Stderr
	if err := child.Run(); err != nil {
		say("child", err)
	}
}

func main() {
	switch {
	case len(os.Args) == 4 && os.Args[1] == "seq":
		mib, _ := strconv.Atoi(os.Args[3])
		seq(os.Args[2], mib)
	case len(os.Args) == 3 && os.Args[1] == "one":
		f := open(os.Args[2])
		write(f, 0)
		say("sync", f.Sync())
	case len(os.Args) == 2 && os.Args[1] == "child":
		say("child-sync", os.NewFile(3, "inherited").Sync())
	default:
		fmt.Fprintln(os.Stderr, "usage: gosync seq FILE MIB | one FILE")
		os.Exit(2)
	}
}
