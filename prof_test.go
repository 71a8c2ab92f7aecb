package scratchpack

import (
	"context"
	"os"
	"testing"
)

func TestProfList(t *testing.T) {
	if os.Getenv("PROFLOG") == "" {
		t.Skip()
	}
	_, err := List(context.Background(), ListOptions{StraceLogs: []string{os.Getenv("PROFLOG")}, IgnoreMissing: true})
	if err != nil {
		t.Fatal(err)
	}
}
