// Codebook usage of one tokenizer on this input: entropy, perplexity, utilisation and the Zipf plot of code counts.
import { formatEntropy, formatUtilisation, zipfPoints, type CodebookUsage } from '../../lib/media';
import { XYChart } from './XYChart';

/** Frames of several codebooks (Codec2's fields, RVQ levels): each codebook's use, in a compact table. */
function PerCodebook({ per, sizes }: { per: CodebookUsage[]; sizes: readonly number[] }) {
  return (
    <div className="table-scroll media-per-codebook">
      <table className="data-table compact" data-testid="media-per-codebook">
        <thead>
          <tr>
            <th>Codebook</th>
            <th className="num">Size</th>
            <th className="num">Used</th>
            <th className="num">Entropy (bits)</th>
          </tr>
        </thead>
        <tbody>
          {per.map((u, i) => (
            <tr key={i}>
              <td>{i + 1}</td>
              <td className="num">{sizes[i] ?? '—'}</td>
              <td className="num">
                {u.used} ({(u.utilisation * 100).toFixed(0)}%)
              </td>
              <td className="num">
                {u.entropy_bits.toFixed(2)} / {sizes[i] > 1 ? Math.log2(sizes[i]).toFixed(1) : '0'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function CodebookUsageView({ usage, codebookSizes, colour }: { usage: (CodebookUsage & { per_codebook?: CodebookUsage[] }) | null; codebookSizes: readonly number[]; colour: string }) {
  if (!usage) return <p className="muted small">No codebook usage for this tokenizer.</p>;
  const codebookSize = codebookSizes[0];
  const per = usage.per_codebook && usage.per_codebook.length > 1 ? usage.per_codebook : null;
  const points = zipfPoints(usage.zipf).map((p) => ({ x: p.rank, y: p.count, title: `rank ${p.rank}: ${p.count.toLocaleString('en-US')} uses` }));
  return (
    <div className="media-usage" data-testid="media-usage">
      {per && <p className="muted small media-usage-note">The numbers and the Zipf plot are for codebook 1 of {per.length}; every codebook is in the table.</p>}
      <dl className="media-facts">
        <div>
          <dt>Entropy</dt>
          <dd data-testid="media-entropy" title="Shannon entropy of the code histogram; the ceiling is log2 of the codebook size">
            {formatEntropy(usage, codebookSize)}
          </dd>
        </div>
        <div>
          <dt>Perplexity</dt>
          <dd title="2^entropy: the number of equally used codes with the same entropy">{usage.perplexity.toFixed(1)}</dd>
        </div>
        <div>
          <dt>Utilisation</dt>
          <dd data-testid="media-utilisation">{formatUtilisation(usage, codebookSize)}</dd>
        </div>
      </dl>
      <XYChart
        series={[{ name: 'uses', colour, points, line: points.length > 1 }]}
        caption="Zipf plot: uses of each code by rank"
        xLabel="rank"
        yLabel="uses"
        xLog
        yLog
        width={300}
        height={170}
        testId="media-zipf"
      />
      {per && <PerCodebook per={per} sizes={codebookSizes} />}
    </div>
  );
}
