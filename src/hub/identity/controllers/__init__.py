"""HTTP controllers of identity: parse, authorise, call a service, shape the answer."""
