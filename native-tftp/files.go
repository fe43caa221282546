//go:build linux

package main

// Files, read-only: one shared handle per file version, like FileCache in file-cache.ts. The engine
// confines the path and stats the file; this side opens it and checks it is that same file.

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

type sharedFile struct {
	key  string
	f    *os.File
	refs int
}

// open shares one read-only handle per file version and checks that the file opened is the one the
// engine confined and stat'ed (a swap in between is refused, S7). The reason is for the client's
// ERROR packet and the log.
func (p *pump) open(path string, id *identity) (*sharedFile, string) {
	key := fmt.Sprintf("%v:%v:%d:%v", id.Dev, id.Ino, id.Size, id.MtimeMs)
	p.mu.Lock()
	if s := p.files[key]; s != nil {
		s.refs++
		p.mu.Unlock()
		return s, ""
	}
	p.mu.Unlock()
	// O_NONBLOCK: a FIFO swapped in after the engine's stat must not block this goroutine.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Sprintf("cannot open (%s)", errnoName(err))
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG ||
		float64(st.Ino) != id.Ino || float64(st.Dev) != id.Dev {
		f.Close()
		return nil, "not a regular file"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.files[key]; s != nil { // opened meanwhile by another transfer
		f.Close()
		s.refs++
		return s, ""
	}
	s := &sharedFile{key: key, f: f, refs: 1}
	p.files[key] = s
	p.openFiles++
	return s, ""
}

func (p *pump) releaseFile(s *sharedFile) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.refs--; s.refs == 0 {
		delete(p.files, s.key)
		s.f.Close()
		p.openFiles--
	}
}

// openFileCount is what 'opened' and 'closed' report (the engine's openFiles(), T23).
func (p *pump) openFileCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.openFiles
}

func errnoName(err error) string {
	var errno syscall.Errno
	if pe, ok := err.(*os.PathError); ok {
		if e, ok := pe.Err.(syscall.Errno); ok {
			errno = e
		}
	}
	names := map[syscall.Errno]string{syscall.ENOENT: "ENOENT", syscall.EACCES: "EACCES",
		syscall.EPERM: "EPERM", syscall.EISDIR: "EISDIR", syscall.ELOOP: "ELOOP", syscall.EMFILE: "EMFILE"}
	if n, ok := names[errno]; ok {
		return n
	}
	return "error"
}

// bytesReader serves a file sent inline (virtual files, netascii text).
type bytesReader []byte

func (b bytesReader) ReadAt(dst []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	return copy(dst, b[off:]), nil
}
