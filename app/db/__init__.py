"""Persistence: SQLModel tables, engines and sessions, migrations. Nothing above this
package imports SQL dialects."""
