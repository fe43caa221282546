//go:build linux

package main

// Files, read-only: one shared handle per file version, like FileCache in file-cache.ts. The engine
// confines the path and stats the file; this side opens it and checks it is that same file.

import (
	"fmt"
	"io"
	"os"
	"sort"
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

// extentReader serves a file inside an ISO image: its extents of the image file, in order (issue 18),
// read in place by positioned reads, never copied out first. Like any io.ReaderAt it fills dst
// across extent boundaries (a DATA block may straddle two extents of a multi-extent file).
type extentReader struct {
	f       io.ReaderAt
	extents []extent
	starts  []int64 // member position of each extent's first byte
	size    int64
}

// newExtentReader checks the ranges lie in the image (`imageSize` bytes); false when one does not.
func newExtentReader(f io.ReaderAt, extents []extent, imageSize int64) (*extentReader, bool) {
	r := &extentReader{f: f}
	for _, e := range extents {
		if e.Offset < 0 || e.Length < 0 || (!e.Sparse && e.Offset+e.Length > imageSize) {
			return nil, false
		}
		if e.Length == 0 {
			continue
		}
		r.extents = append(r.extents, e)
		r.starts = append(r.starts, r.size)
		r.size += e.Length
	}
	return r, true
}

func (r *extentReader) ReadAt(dst []byte, off int64) (int, error) {
	done := 0
	for done < len(dst) {
		pos := off + int64(done)
		if pos >= r.size {
			return done, io.EOF
		}
		i := sort.Search(len(r.starts), func(i int) bool { return r.starts[i] > pos }) - 1
		e := r.extents[i]
		into := pos - r.starts[i]
		n := e.Length - into
		if int64(len(dst)-done) < n {
			n = int64(len(dst) - done)
		}
		part := dst[done : done+int(n)]
		if e.Sparse {
			for j := range part {
				part[j] = 0
			}
			done += int(n)
			continue
		}
		got, err := r.f.ReadAt(part, e.Offset+into)
		done += got
		if got < int(n) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF // the image shrank under us
			}
			return done, err
		}
	}
	return done, nil
}
