"""What the bot does with a message: a router of small handlers (resident, worker, admin).

Each handler is a match test and a callback (see ``handlers.base``); ``handlers.router`` puts
them in order. Handlers turn chat into calls on ``cases`` and answers through ``notify``.
"""
