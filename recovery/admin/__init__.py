"""Administration: users, teams, the settings in force and the audit log, as plain functions (here), pages
(`views`), JSON (`api`) and commands (`cli`)."""
