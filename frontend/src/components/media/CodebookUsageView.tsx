// Codebook usage of one tokenizer on this input: entropy, perplexity, utilisation and the Zipf plot of code counts.
import { formatEntropy, formatUtilisation, zipfPoints, type CodebookUsage } from '../../lib/media';
import { XYChart } from './XYChart';

export function CodebookUsageView({ usage, codebookSize, colour }: { usage: CodebookUsage | null; codebookSize: number | undefined; colour: string }) {
  if (!usage) return <p className="muted small">No codebook usage for this tokenizer.</p>;
  const points = zipfPoints(usage.zipf).map((p) => ({ x: p.rank, y: p.count, title: `rank ${p.rank}: ${p.count.toLocaleString('en-US')} uses` }));
  return (
    <div className="media-usage" data-testid="media-usage">
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
    </div>
  );
}
