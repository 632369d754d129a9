'use strict';
// One end-to-end run of the official TypeScript SDK against a Temporal frontend (here the
// gateway's gRPC door): a Worker on a NativeConnection and a Client on a Connection start
// orderWorkflow, query it, signal it, await and check its result, then replay its
// history. Prints one JSON line on stdout and exits 0; any failure exits nonzero.
//
//   node run.js [address] [namespace] [taskQueue]
// or TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_TASK_QUEUE (default
// 127.0.0.1:7233, default, typescript-sdk). SDK logs go to stderr.
const assert = require('node:assert/strict');
const { randomUUID } = require('node:crypto');
const { Client, Connection } = require('@temporalio/client');
const { NativeConnection, Runtime, DefaultLogger, Worker, bundleWorkflowCode } = require('@temporalio/worker');
const activities = require('./activities');

const address = process.argv[2] || process.env.TEMPORAL_ADDRESS || '127.0.0.1:7233';
const namespace = process.argv[3] || process.env.TEMPORAL_NAMESPACE || 'default';
const taskQueue = process.argv[4] || process.env.TEMPORAL_TASK_QUEUE || 'typescript-sdk';
const WAIT_MS = 60_000;

async function until(what, probe) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main() {
  // Core's own logs go through the same logger (console.error) rather than stdout, which
  // carries only the JSON line.
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: new DefaultLogger('WARN'),
  });

  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  try {
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace,
      taskQueue,
      workflowBundle,
      activities,
    });
    const client = new Client({ connection, namespace });
    const order = { id: `order-${randomUUID()}`, item: 'widget', quantity: 3 };
    const workflowId = `ts-${order.id}`;

    const outcome = await worker.runUntil(async () => {
      const handle = await client.workflow.start('orderWorkflow', {
        taskQueue,
        workflowId,
        args: [order],
      });
      // The query answers once the worker has run the first task; the workflow waits
      // for payment after its activity, whatever the order of the polls.
      const awaiting = await until('awaiting_payment', async () => {
        const status = await handle.query('get_order_status');
        return status === 'awaiting_payment' ? status : undefined;
      });
      await handle.signal('payment_received', 'paid 42.00');
      const result = await handle.result();
      return { handle, awaiting, result };
    });

    const { handle, awaiting, result } = outcome;
    assert.deepEqual(result, {
      orderId: order.id,
      reservation: 'reserved 3 x widget (attempt 1)',
      payment: 'paid 42.00',
      shipment: `shipped ${order.id}`,
      status: 'completed',
    });

    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle }, history, workflowId);

    process.stdout.write(
      JSON.stringify({
        workflowId,
        runId: handle.firstExecutionRunId,
        query: awaiting,
        result,
        historyEvents: history.events.length,
        replayed: true,
      }) + '\n',
    );
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`typescript sdk run failed: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  },
);
