//go:build linux

package main

import (
	"bytes"
	"io"
	"testing"
)

// A member of an ISO image read through its extents: reads cross extent boundaries (a DATA block may
// straddle two extents of a multi-extent file), sparse extents read as zeros, the end is io.EOF, and
// ranges outside the image are refused before any read.
func TestExtentReader(t *testing.T) {
	image := make([]byte, 100)
	for i := range image {
		image[i] = byte(i)
	}
	r, ok := newExtentReader(bytes.NewReader(image), []extent{{Offset: 50, Length: 10}, {Offset: 0, Length: 0},
		{Offset: 0, Length: 5, Sparse: true}, {Offset: 10, Length: 10}}, int64(len(image)))
	if !ok || r.size != 25 {
		t.Fatalf("size %d ok %v", r.size, ok)
	}
	want := append(append(append([]byte{}, image[50:60]...), 0, 0, 0, 0, 0), image[10:20]...)
	for _, at := range []int{0, 7, 10, 14, 24} {
		for _, n := range []int{1, 3, 8, 25} {
			dst := make([]byte, n)
			got, err := r.ReadAt(dst, int64(at))
			end := at + n
			if end > len(want) {
				end = len(want)
			}
			if got != end-at || !bytes.Equal(dst[:got], want[at:end]) {
				t.Errorf("ReadAt(%d, %d) = %d %v, want %v", n, at, got, dst[:got], want[at:end])
			}
			if (at+n > len(want)) != (err == io.EOF) {
				t.Errorf("ReadAt(%d, %d): err %v", n, at, err)
			}
		}
	}
	if _, ok := newExtentReader(bytes.NewReader(image), []extent{{Offset: 90, Length: 20}}, 100); ok {
		t.Error("an extent past the image end was accepted")
	}
	if _, ok := newExtentReader(bytes.NewReader(image), []extent{{Offset: -1, Length: 2}}, 100); ok {
		t.Error("a negative offset was accepted")
	}
}
