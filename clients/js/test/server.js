// A real OrleansWs server for the client's tests: the embedded silo (built by the repository's test command), on free
// ports of 127.0.0.1, stopped by its PID; and a TCP proxy in front of it whose connections a test can drop.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const dll = fileURLToPath(new URL('../../../src/Silo/bin/Debug/net10.0/OrleansWs.Silo.dll', import.meta.url));

export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the embedded silo and waits until it answers /readyz. */
export async function startServer() {
  if (!existsSync(dll)) {
    throw new Error(`${dll} is missing: build the repository first (dotnet build OrleansWs.sln).`);
  }
  const [http, silo, gateway] = [await freePort(), await freePort(), await freePort()];
  const child = spawn('dotnet', [dll], {
    env: {
      ...process.env,
      ASPNETCORE_URLS: `http://127.0.0.1:${http}`,
      OrleansWs__Cluster__SiloPort: String(silo),
      OrleansWs__Cluster__GatewayPort: String(gateway),
      Logging__LogLevel__Default: 'Warning',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`The server exited with ${child.exitCode}.`);
    try {
      const response = await fetch(`http://127.0.0.1:${http}/readyz`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    port: http,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TCP proxy to `port`: drop() cuts every connection without a close frame, as a network that fails would. */
export async function startProxy(port) {
  const sockets = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    drop() {
      for (const socket of sockets) socket.destroy();
    },
    refuse(on) {
      refusing = on;
    },
    async close() {
      this.drop();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
