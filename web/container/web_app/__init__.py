"""A small web app for the web service stack: a health endpoint and one that reads Aurora."""
