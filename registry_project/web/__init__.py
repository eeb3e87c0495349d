"""What every page shares: signing in and out with a tenant, the layout, and Django admin per tenant."""
