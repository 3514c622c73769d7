import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import catalogJson from './catalog.fixture.json';
import { SchemaForm } from './SchemaForm';
import { fieldsOf } from './schema';
import type { JsonSchema, TaskTypeCatalog } from './types';

const catalog = catalogJson as unknown as TaskTypeCatalog;
const typeSchema = (name: string) => catalog.items.find((t) => t.name === name)!.params_schema as JsonSchema;

function renderForm(schema: JsonSchema, value: Record<string, unknown>, errors: Record<string, string> = {}, skip: string[] = []) {
  const onChange = vi.fn();
  const utils = render(<SchemaForm schema={schema} root={schema} value={value} errors={errors} onChange={onChange} skip={skip} />);
  return { onChange, ...utils };
}

afterEach(cleanup);

describe('schema reading', () => {
  it('resolves $ref, optional anyOf-null, enums, durations and code fields', () => {
    const kinds = Object.fromEntries(fieldsOf(catalog.common).map((f) => [f.name, f.kind.kind]));
    expect(kinds).toMatchObject({
      name: 'string',
      upstream: 'stringList',
      params: 'dict',
      retries: 'integer',
      retry_delay: 'numberOrText',
      timeout: 'numberOrText',
      trigger_rule: 'enum',
      resources: 'object',
      splice_values: 'boolean',
    });
    const timeout = fieldsOf(catalog.common).find((f) => f.name === 'timeout')!;
    expect(timeout.nullable).toBe(true);
    const shell = Object.fromEntries(fieldsOf(typeSchema('shell')).map((f) => [f.name, f.kind]));
    expect(shell.command).toEqual({ kind: 'code', language: 'shell' });
    const py = Object.fromEntries(fieldsOf(typeSchema('python')).map((f) => [f.name, f.kind]));
    expect(py.script).toEqual({ kind: 'code', language: 'python' });
    expect(py.kwargs.kind).toBe('dict');
    const sw = Object.fromEntries(fieldsOf(typeSchema('switch')).map((f) => [f.name, f]));
    expect(sw.cases.kind.kind).toBe('objectList');
    expect(sw.cases.required).toBe(true);
    expect(sw.default.required).toBe(false);
  });
});

describe('SchemaForm', () => {
  it('shows defaults as placeholders, descriptions as help, required marks', () => {
    renderForm(typeSchema('sql'), { sql: 'select 1' });
    expect(screen.getByTestId('field-max_rows')).toHaveAttribute('placeholder', '100');
    expect(screen.getByTestId('field-max_rows')).toHaveAttribute('min', '1');
    expect(screen.getByTestId('field-max_rows')).toHaveAttribute('max', '100000');
    expect(screen.getByText(/with output: rows, how many rows to keep/)).toBeInTheDocument();
    expect(screen.getByTestId('field-sql').querySelector('.cm-content')?.textContent).toBe('select 1');
    expect(screen.getByText('sql').parentElement?.textContent).toContain('*');
  });

  it('renders enums as selects with the default named, and sends the chosen value', () => {
    const { onChange } = renderForm(typeSchema('sql'), { sql: 'x' });
    const select = screen.getByTestId('field-output') as HTMLSelectElement;
    expect([...select.options].map((o) => o.text)).toEqual(['default: none', 'none', 'first_row', 'rows']);
    fireEvent.change(select, { target: { value: 'rows' } });
    expect(onChange).toHaveBeenCalledWith(['output'], 'rows');
    fireEvent.change(select, { target: { value: '' } });
    expect(onChange).toHaveBeenLastCalledWith(['output'], undefined);
  });

  it('turns numbers into numbers, durations into numbers or text, and clears to the default', () => {
    const { onChange } = renderForm(catalog.common, { retries: 1 }, {}, ['name', 'type']);
    fireEvent.change(screen.getByTestId('field-retries'), { target: { value: '3' } });
    expect(onChange).toHaveBeenLastCalledWith(['retries'], 3);
    fireEvent.change(screen.getByTestId('field-retries'), { target: { value: '' } });
    expect(onChange).toHaveBeenLastCalledWith(['retries'], undefined);
    fireEvent.change(screen.getByTestId('field-timeout'), { target: { value: '30m' } });
    expect(onChange).toHaveBeenLastCalledWith(['timeout'], '30m');
    fireEvent.change(screen.getByTestId('field-timeout'), { target: { value: '90' } });
    expect(onChange).toHaveBeenLastCalledWith(['timeout'], 90);
    fireEvent.click(screen.getByTestId('field-splice_values'));
    expect(onChange).toHaveBeenLastCalledWith(['splice_values'], true);
  });

  it('renders nested models with dotted paths and their errors', () => {
    const { onChange } = renderForm(catalog.common, { resources: { cpu: 0 } }, { 'resources.cpu': 'must be greater than 0' }, ['name', 'type']);
    expect(screen.getByTestId('field-resources.cpu')).toHaveValue(0);
    expect(screen.getByTestId('field-resources.memory')).toHaveAttribute('placeholder', '0');
    expect(screen.getByTestId('field-error-resources.cpu')).toHaveTextContent('must be greater than 0');
    expect(screen.getByTestId('field-resources.cpu')).toHaveAttribute('aria-invalid', 'true');
    fireEvent.change(screen.getByTestId('field-resources.gpu'), { target: { value: '1' } });
    expect(onChange).toHaveBeenLastCalledWith(['resources', 'gpu'], 1);
  });

  it('renders lists of models as repeated fieldsets (switch cases) with add and remove', () => {
    const { onChange, rerender } = renderForm(typeSchema('switch'), {}, { cases: 'required' });
    expect(screen.getByTestId('field-error-cases')).toHaveTextContent('required');
    fireEvent.click(screen.getByTestId('field-cases-add'));
    expect(onChange).toHaveBeenLastCalledWith(['cases'], [{}]);
    const schema = typeSchema('switch');
    rerender(
      <SchemaForm schema={schema} root={schema} value={{ cases: [{ when: 'a', then: 'b' }] }} errors={{ 'cases.0.then': 'nope' }} onChange={onChange} />,
    );
    expect(screen.getByTestId('field-cases.0.when')).toHaveValue('a');
    expect(screen.getByTestId('field-error-cases.0.then')).toHaveTextContent('nope');
    fireEvent.change(screen.getByTestId('field-cases.0.then'), { target: { value: 'c' } });
    expect(onChange).toHaveBeenLastCalledWith(['cases', '0', 'then'], 'c');
    fireEvent.click(screen.getByTestId('field-cases.0-remove'));
    expect(onChange).toHaveBeenLastCalledWith(['cases'], undefined);
  });

  it('edits mappings as key/value rows and lists of names as comma-separated text', () => {
    const { onChange } = renderForm(typeSchema('python'), { kwargs: { rows: 1000, day: '${ds}' } });
    expect(screen.getByTestId('field-kwargs-key-0')).toHaveValue('rows');
    expect(screen.getByTestId('field-kwargs-value-0')).toHaveValue('1000');
    fireEvent.change(screen.getByTestId('field-kwargs-value-1'), { target: { value: '${yesterday_ds}' } });
    // the value left alone keeps its type (a number)
    expect(onChange).toHaveBeenLastCalledWith(['kwargs'], { rows: 1000, day: '${yesterday_ds}' });
    fireEvent.click(screen.getByTestId('field-kwargs-remove-0'));
    expect(onChange).toHaveBeenLastCalledWith(['kwargs'], { day: '${yesterday_ds}' });
    fireEvent.click(screen.getByTestId('field-kwargs-add'));
    fireEvent.change(screen.getByTestId('field-kwargs-key-1'), { target: { value: 'seed' } });
    fireEvent.change(screen.getByTestId('field-kwargs-value-1'), { target: { value: '7' } });
    expect(onChange).toHaveBeenLastCalledWith(['kwargs'], { day: '${yesterday_ds}', seed: 7 });
    cleanup();
    const c = renderForm(typeSchema('condition'), {});
    fireEvent.change(c.getByTestId('field-success_branch'), { target: { value: 'release, notify' } });
    expect(c.onChange).toHaveBeenLastCalledWith(['success_branch'], ['release', 'notify']);
    // a comma being typed stays in the box
    expect(c.getByTestId('field-success_branch')).toHaveValue('release, notify');
  });

  it('leaves out the fields shown elsewhere and says when a type has none', () => {
    renderForm(catalog.common, {}, {}, Object.keys(catalog.common.properties ?? {}));
    expect(screen.getByText(/no settings of its own/)).toBeInTheDocument();
  });
});
