package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ticketsync/ticketsync/store"
)

// The tenants verbs work on the store directly (TICKETSYNC_DATABASE_URL), not through the API:
// they mint and revoke the very keys the API authenticates with.
func newTenantsCmd() *cobra.Command {
	keys := group("keys", "Mint, list and revoke a tenant's API keys", `keys works on the store named by TICKETSYNC_DATABASE_URL.
Rotate a key: create a new one, hand it over, then revoke the old one.`, "",
		tenantKeysCreateCmd(), tenantKeysListCmd(), tenantKeysRevokeCmd())
	return group("tenants", "Administer tenants (API keys) in the store", "", "local", keys)
}

// tenantFlag registers the required --tenant flag.
func tenantFlag(c *cobra.Command, tenant *string) {
	c.Flags().StringVar(tenant, "tenant", "", "tenant id, as in the connections file (required)")
}

func requireTenant(cmd *cobra.Command, tenant string) error {
	if tenant == "" {
		return usagef(cmd, "%s: --tenant is required", cmd.CommandPath())
	}
	return nil
}

func unknownTenant(tenant string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("tenant %q is not known to the store: start the api or worker once with a connections file that defines it", tenant)
	}
	return err
}

func tenantKeysCreateCmd() *cobra.Command {
	var tenant string
	c := &cobra.Command{
		Use:   "create --tenant ID",
		Short: "Mint an API key (printed once; only its hash is stored)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireTenant(cmd, tenant); err != nil {
				return err
			}
			st, err := openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			key, k, err := st.MintAPIKey(cmd.Context(), tenant)
			if err != nil {
				return unknownTenant(tenant, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), key)
			fmt.Fprintf(cmd.ErrOrStderr(), "API key %s created for tenant %s; it is stored hashed and cannot be shown again.\n", k.ID, tenant)
			return nil
		},
	}
	tenantFlag(c, &tenant)
	return c
}

func tenantKeysListCmd() *cobra.Command {
	var tenant string
	var out output
	c := &cobra.Command{
		Use:   "list --tenant ID",
		Short: "List a tenant's API keys (never their secrets), revoked ones included",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(cmd); err != nil {
				return err
			}
			if err := requireTenant(cmd, tenant); err != nil {
				return err
			}
			st, err := openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.ListAPIKeys(cmd.Context(), tenant)
			if err != nil {
				return unknownTenant(tenant, err)
			}
			return out.print(cmd.OutOrStdout(), keys, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "ID\tSOURCE\tENDS IN\tCREATED\tREVOKED")
				for _, k := range keys {
					revoked := "-"
					if k.RevokedAt != nil {
						revoked = when(*k.RevokedAt) + " by " + k.RevokedBy
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Source, orDash(k.Last4), when(k.CreatedAt), revoked)
				}
			})
		},
	}
	tenantFlag(c, &tenant)
	out.register(c, outTable)
	return c
}

func tenantKeysRevokeCmd() *cobra.Command {
	var tenant string
	c := &cobra.Command{
		Use:     "revoke --tenant ID <key-id>",
		Short:   "Revoke an API key for good (by its id from 'keys list', an id prefix, or the key)",
		Example: `  ticketsync tenants keys revoke --tenant sunrise key_3f2a9c01b2d4`,
		Args:    exactArgs(1, "one key id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireTenant(cmd, tenant); err != nil {
				return err
			}
			st, err := openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			k, err := st.RevokeAPIKey(cmd.Context(), tenant, args[0])
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					// Not echoing the argument: it may be the key itself.
					return fmt.Errorf("no key of tenant %q matches (see 'ticketsync tenants keys list --tenant %s')", tenant, tenant)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (tenant %s)\n", k.ID, tenant)
			return nil
		},
	}
	tenantFlag(c, &tenant)
	return c
}
