"""Small mechanisms that the web app, the engine, the training library and the ingest code all need.

Each was once written several times with slightly different behaviour; each now lives here once. This
package imports no Django and nothing heavy, so every other package may use it.
"""
