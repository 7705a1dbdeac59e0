"""An MCP client on the official Python SDK (`mcp`), for the tests (test/support/pythonMcp.ts runs it).

Connects to one server, over stdio (the command after `--`, given this process's environment) or Streamable HTTP
(`--url`, with `--header "Name: value"`), and prints one JSON object on stdout: the initialize result (server info,
protocol version, capabilities, instructions), the tools and prompts as listed, every listed prompt got with the
arguments `--requests` gives for it, then the extra prompts/get requests and tool calls `--requests` asks for.
A JSON-RPC error becomes {"error": {"code", "message"}} in place of a result, so the test decides what is wrong.

--requests is JSON: {"promptArguments": {name: {arg: text}}, "prompts": [{"name", "arguments"}],
"calls": [{"name", "arguments"}]}, every key optional.
"""

import argparse
import asyncio
import contextlib
import json
import os
import sys

from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client


def dump(model):
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


async def attempt(call):
    try:
        return {"result": dump(await call)}
    except MCPError as error:
        return {"error": {"code": error.code, "message": error.message}}


@contextlib.asynccontextmanager
async def transport(args):
    if args.url is not None:
        import httpx2

        headers = dict(h.split(":", 1) for h in args.header)
        headers = {name.strip(): value.strip() for name, value in headers.items()}
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(httpx2.AsyncClient(headers=headers)) if headers else None
            yield await stack.enter_async_context(streamable_http_client(args.url, http_client=client))
    else:
        server = StdioServerParameters(
            command=args.command[0], args=args.command[1:], env=dict(os.environ), cwd=os.getcwd()
        )
        async with stdio_client(server) as streams:
            yield streams


async def main(args):
    requests = json.loads(args.requests)
    async with transport(args) as (read, write):
        async with ClientSession(read, write) as session:
            initialized = await session.initialize()
            tools = await session.list_tools()
            prompts = await session.list_prompts()
            gets = [
                {"name": p.name, "arguments": requests.get("promptArguments", {}).get(p.name, {})}
                for p in prompts.prompts
            ] + requests.get("prompts", [])
            report = {
                "python": sys.version.split()[0],
                "initialize": dump(initialized),
                "tools": [dump(t) for t in tools.tools],
                "prompts": [dump(p) for p in prompts.prompts],
                "promptResults": [
                    {**g, **(await attempt(session.get_prompt(g["name"], g["arguments"] or None)))} for g in gets
                ],
                "calls": [
                    {**c, **(await attempt(session.call_tool(c["name"], c.get("arguments", {}))))}
                    for c in requests.get("calls", [])
                ],
            }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a Streamable HTTP endpoint, instead of a command")
    parser.add_argument("--header", action="append", default=[], help='"Name: value", with --url')
    parser.add_argument("--requests", default="{}", help="JSON: what to get and call, see above")
    parser.add_argument("command", nargs="*", help="the server's command line, after --")
    parsed = parser.parse_args()
    if (parsed.url is None) == (len(parsed.command) == 0):
        parser.error("give either --url or a command after --")
    asyncio.run(main(parsed))
