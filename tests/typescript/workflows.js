'use strict';
// Workflows for the order program; the Worker bundles this file (webpack) into its
// deterministic sandbox. No timers: the gateway under test runs on a manual clock.
const wf = require('@temporalio/workflow');

const { reserveStock, shipOrder } = wf.proxyActivities({ startToCloseTimeout: '30 seconds' });

const paymentReceived = wf.defineSignal('payment_received');
const getOrderStatus = wf.defineQuery('get_order_status');

// Reserves stock (an activity), waits for the payment_received signal, ships through a
// child workflow and returns what each step produced; get_order_status answers the stage.
async function orderWorkflow(order) {
  let status = 'reserving';
  let payment;
  wf.setHandler(getOrderStatus, () => status);
  wf.setHandler(paymentReceived, (received) => {
    payment = received;
  });

  const reservation = await reserveStock(order.item, order.quantity);
  status = 'awaiting_payment';
  await wf.condition(() => payment !== undefined);
  status = 'shipping';
  const shipment = await wf.executeChild(shipOrderWorkflow, {
    args: [order.id],
    workflowId: `${wf.workflowInfo().workflowId}-ship`,
  });
  status = 'completed';
  return { orderId: order.id, reservation, payment, shipment, status };
}

// The child: ships the order with an activity of its own.
async function shipOrderWorkflow(orderId) {
  return await shipOrder(orderId);
}

module.exports = { orderWorkflow, shipOrderWorkflow };
