package tracker

import (
	"math/bits"
	"testing"
)

// TestEveryCauseHasAPhrase keeps the cause bits and their sentences in
// step: a cause without a phrase would print another cause's words.
func TestEveryCauseHasAPhrase(t *testing.T) {
	if n := bits.TrailingZeros64(uint64(numCauses)); n != len(causePhrases) {
		t.Fatalf("%d causes, %d phrases", n, len(causePhrases))
	}
	for i, p := range causePhrases {
		if p == "" {
			t.Errorf("cause %d has no phrase", i)
		}
	}
}
