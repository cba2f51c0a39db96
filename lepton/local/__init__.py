"""The local stack behind `lepton up`: the template's functions run in this process against a
local AWS (a moto server), behind a local API Gateway. docs/architecture.md walks through it."""
