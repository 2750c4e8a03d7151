package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ticketsync/ticketsync/store"
)

// runTenants: `ticketsync tenants keys create --tenant ID` mints an API key, stores its hash and
// prints the key once (it cannot be shown again).
func runTenants(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "keys" || args[1] != "create" {
		return usageError{"usage: ticketsync tenants keys create --tenant ID"}
	}
	fs := flag.NewFlagSet("tenants keys create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "tenant id (as in the connections file)")
	if err := fs.Parse(args[2:]); err != nil {
		return usageError{err.Error()}
	}
	if *tenant == "" {
		return usageError{"tenants keys create: --tenant is required"}
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	key := "tsk_" + *tenant + "_" + hex.EncodeToString(b)
	if err := st.AddAPIKey(ctx, *tenant, key); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("tenant %q is not known to the store: start the api or worker once with a connections file that defines it", *tenant)
		}
		return err
	}
	fmt.Fprintf(stdout, "%s\n", key)
	fmt.Fprintf(stderr, "API key created for tenant %s; it is stored hashed and cannot be shown again.\n", *tenant)
	return nil
}
