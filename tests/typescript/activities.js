'use strict';
// Activities for the order workflow: plain functions the TypeScript SDK's Worker runs
// outside the workflow sandbox.
const { Context } = require('@temporalio/activity');

async function reserveStock(item, quantity) {
  const { attempt } = Context.current().info;
  return `reserved ${quantity} x ${item} (attempt ${attempt})`;
}

async function shipOrder(orderId) {
  return `shipped ${orderId}`;
}

module.exports = { reserveStock, shipOrder };
