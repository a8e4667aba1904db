"""The staff console: the knowledge base in a browser, for district office staff (see docs/staff.md)."""
