"""The WeCom channel: callbacks in (app XML, smart-bot JSON), normalised messages, the sender
(token cache, limits, retries) and a faithful WeCom simulator for tests and the demo."""
