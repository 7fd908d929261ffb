"""The operator APIs of PoST services as a client reads them: ``mergetool serve``'s
``GET /identities`` and a post-rs service's ``GET /status``. Below ``status`` and ``watch``,
which both read them; neither imports the other."""
