"""What the two HTTP doors (the API and the console) share: the store pool, the key holder's
look-up and the error statuses. Below both doors, so neither imports the other; no rules."""
