"""Use cases. Services take a session (or unit of work) from the caller, may flush but
never commit, and raise ApiError for anything the client must hear about."""
