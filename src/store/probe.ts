// Readiness: one cheap, bounded round trip to the table (GetItem on the lock's key: the only
// permission it needs is one the service already has).
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { storeCall } from './errors.js'

export async function pingStore (doc: DynamoDBDocumentClient, table: string, timeoutMs = 2_000): Promise<void> {
  await storeCall('GetItem', () => doc.send(
    new GetCommand({ TableName: table, Key: { userId: 'cron', platform: 'refresh-oauth' }, ProjectionExpression: 'userId' }),
    { abortSignal: AbortSignal.timeout(timeoutMs) }
  ))
}
