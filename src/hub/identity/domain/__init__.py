"""Pure rules of identity (no I/O): addresses, password policy, secrets, second factors."""
