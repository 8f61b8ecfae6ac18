package dbtrust

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"
)

// A token's Principal names it "token:" + its ID whatever the subject
// table held before: IDs far more numerous than its slots, looked up from
// several goroutines at once, each get their own subject, and a repeated
// lookup of a recent ID is answered from the table.
func TestTokenSubjects(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				id := fmt.Sprintf("%016x", i*4+g%2)
				if got := (Token{ID: id}).Principal().Subject; got != "token:"+id {
					t.Errorf("Principal of token %s: subject %q", id, got)
					return
				}
			}
		})
	}
	wg.Wait()
	var tab subjectTable
	first := tab.subject("00000000deadbeef")
	if again := tab.subject("00000000deadbeef"); unsafe.StringData(again) != unsafe.StringData(first) {
		t.Error("a recently seen token's subject was built again, want the remembered one")
	}
}
