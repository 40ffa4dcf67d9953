"""Collection: the instrument, its skip-logic expressions, XLSForm import, the store and response import."""
