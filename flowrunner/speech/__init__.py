"""Text-to-speech for the `say` action: the live `Speech` port and what it is made of.

`service.py` renders off the runtime's thread (an engine, then the conversion to what Asterisk
plays, kept in a bounded cache); `server.py` serves the cache to Asterisk over HTTP. Caller
text is data throughout: it reaches an engine on stdin or as one argument (never a shell), and
file names and URLs are only its hash.
"""
