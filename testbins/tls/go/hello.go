// A trivial Go program (tests/tls.rs, go_pie), built with CGO_ENABLED=0
// -buildmode=pie and guardld as PT_INTERP. Go's runtime keeps its g at
// %fs:-8 (a local-exec access to its 8-byte PT_TLS) and points %fs at TLS of
// its own with arch_prctl(ARCH_SET_FS), for the main thread too, and starts
// its threads with clone(CLONE_SETTLS): guardld has to relocate it, hand it
// a sane %fs and stack, and stay out of the way.
package main

import (
	"fmt"
	"os"
	"sync"
)

func main() {
	fmt.Println("hello from go")
	fmt.Println("args:", len(os.Args)-1)
	// A few goroutines on several OS threads: each gets its own g in TLS.
	var wg sync.WaitGroup
	sums := make([]int, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; k <= 1000*(i+1); k++ {
				sums[i] += k
			}
		}(i)
	}
	wg.Wait()
	fmt.Println("sums:", sums)
	os.Exit(3)
}
