"""Helpers shared by the tests: accounts, databases, the ledger's writers, sites and photos, the article's figures,
the browser's sign-in. Test files import these from here, never from `conftest` or from one another."""
