import type { ComponentContext } from '../../engine/contracts';
import { HttpProblem } from '../../engine/http/problem';

/**
 * The PNG a result refers to (`payload[section][key]` is a blob URI); 404 when there is none.
 * Shared by the query API's image routes and the seed API's /static URLs.
 */
export async function resultImage(
  ctx: ComponentContext,
  id: string,
  section: string,
  key: string,
): Promise<Buffer> {
  const row = await ctx.store.get(id);
  if (!row) throw new HttpProblem(404, 'not-found', 'No such result', `no result with id ${id}`);
  const uri = (row.payload?.[section] as Record<string, unknown> | null | undefined)?.[key];
  if (typeof uri !== 'string') {
    throw new HttpProblem(
      404,
      'not-found',
      'No such image',
      row.status === 'done'
        ? `result ${id} has no ${section} image`
        : `result ${id} is ${row.status}`,
    );
  }
  return ctx.blobs.get(uri);
}
